/// @file
/// The byte stream every layer hands on: an HTTP request body, a blob a store
/// returns from fetch, a file being pushed. It lives in core because the layers
/// that produce and consume it (http, content, remote, copy) sit above core.
#pragma once

#include <coras/core/digest.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace coras {

/// A source of bytes read in pieces, so that content of any size is streamed,
/// never held whole: an HTTP request body, or a blob a store hands out.
/// Implement it to stream from your own producer. `read` is called on the
/// consumer's executor (the HTTP client's strand for request bodies), one
/// call at a time.
class byte_source {
 public:
  virtual ~byte_source() = default;

  /// The length when known (an HTTP request sends it as Content-Length);
  /// nullopt: unknown (an HTTP request uses chunked transfer encoding).
  virtual std::optional<std::uint64_t> size() const = 0;

  /// Fills up to `buffer.size()` bytes; returns 0 at the end.
  /// Throws `coras::error`/`system_error` to abort the consumer.
  virtual boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) = 0;

  /// Restarts from the first byte. Returns false when the source cannot be
  /// replayed; then the HTTP client will not retry, redirect with, or re-send it.
  virtual bool rewind() { return false; }
  /// Continues from byte `offset` (what a resumed upload needs). Returns
  /// false when the source cannot; the default can only go back to 0.
  virtual bool seek(std::uint64_t offset) { return offset == 0 && rewind(); }

  /// The whole content as one buffer when it already sits in memory, so the
  /// HTTP client sends it straight from there instead of copying it piece by
  /// piece; nullopt (the default) for streamed sources. The buffer must stay
  /// valid while the source lives.
  virtual std::optional<boost::asio::const_buffer> contiguous() const { return std::nullopt; }
  /// The digest this source checks its own bytes against: a source that
  /// returns one promises that its read reaching the end throws unless the
  /// content hashed to it (coras's blob readers do). A consumer that would
  /// hash the same bytes only to check them may rely on it. Default: nullopt.
  virtual std::optional<digest> verified_digest() const { return std::nullopt; }
};

/// @{
/// Bytes held in memory (shared, so a retry or redirect re-sends it without a copy).
std::shared_ptr<byte_source> memory_source(std::shared_ptr<const std::string> bytes);
std::shared_ptr<byte_source> memory_source(std::string bytes);
/// @}

/// `inner`, reporting how many of its bytes were read so far (progress
/// displays): `report(done)` after each `every` bytes and at the end, on the
/// thread that reads the body. Forwards size, seeking and `verified_digest`.
std::shared_ptr<byte_source> counted_source(std::shared_ptr<byte_source> inner,
                                            std::function<void(std::uint64_t done)> report,
                                            std::uint64_t every = 1 << 20);

/// `length` bytes of a file from `offset` (to the end when `length` is nullopt).
/// The file is opened when the source is created; throws `coras::error` if it cannot be.
std::shared_ptr<byte_source> file_source(const std::filesystem::path& path,
                                         std::uint64_t offset = 0,
                                         std::optional<std::uint64_t> length = std::nullopt);

}  // namespace coras

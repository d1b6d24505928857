// Request bodies: where the bytes of a PUT/PATCH/POST come from.
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

namespace coras::http {

/// A source of request body bytes, read in pieces so that a body of any size
/// is streamed, never held whole. Implement it to stream from your own
/// producer. `read` is called on the client's executor, one call at a time.
class body_source {
 public:
  virtual ~body_source() = default;

  /// The body's length when known (sent as Content-Length); nullopt sends the
  /// body with chunked transfer encoding.
  virtual std::optional<std::uint64_t> size() const = 0;

  /// Fills up to `buffer.size()` bytes; returns 0 at the end of the body.
  /// Throws `coras::error`/`system_error` to abort the request.
  virtual boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) = 0;

  /// Restarts from the first byte. Returns false when the source cannot be
  /// replayed; then the client will not retry, redirect with, or re-send it.
  virtual bool rewind() { return false; }
  /// Continues from byte `offset` (what a resumed upload needs). Returns
  /// false when the source cannot; the default can only go back to 0.
  virtual bool seek(std::uint64_t offset) { return offset == 0 && rewind(); }

  /// The whole body as one buffer when it already sits in memory, so the
  /// client sends it straight from there instead of copying it piece by
  /// piece; nullopt (the default) for streamed sources. The buffer must stay
  /// valid while the source lives.
  virtual std::optional<boost::asio::const_buffer> contiguous() const { return std::nullopt; }
  /// The digest this source checks its own bytes against: a source that
  /// returns one promises that its read reaching the end throws unless the
  /// content hashed to it (coras's blob readers do). A consumer that would
  /// hash the same bytes only to check them may rely on it. Default: nullopt.
  virtual std::optional<digest> verified_digest() const { return std::nullopt; }
};

/// A body held in memory (shared, so a retry or redirect re-sends it without a copy).
std::shared_ptr<body_source> memory_body(std::shared_ptr<const std::string> bytes);
std::shared_ptr<body_source> memory_body(std::string bytes);

/// `inner`, reporting how many of its bytes were read so far (progress
/// displays): `report(done)` after each `every` bytes and at the end, on the
/// thread that reads the body. Forwards size, seeking and `verified_digest`.
std::shared_ptr<body_source> counted_body(std::shared_ptr<body_source> inner,
                                          std::function<void(std::uint64_t done)> report,
                                          std::uint64_t every = 1 << 20);

/// `length` bytes of a file from `offset` (to the end when `length` is nullopt).
/// The file is opened when the body is created; throws `coras::error` if it cannot be.
std::shared_ptr<body_source> file_body(const std::filesystem::path& path, std::uint64_t offset = 0,
                                       std::optional<std::uint64_t> length = std::nullopt);

}  // namespace coras::http

// The blob reader's implementation: a response body (or bytes already read
// into memory), hashed as it is handed out, reopened with `Range` where it
// broke off.
#pragma once

#include <coras/core/digest.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/blob_reader.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coras::remote {

struct repository_state;

/// What a reader reads: bytes [offset, end) of `target` at `url`.
struct blob_reader_setup {
  explicit blob_reader_setup(http::client c) : client(std::move(c)) {}
  http::client client;
  /// When set, the reader (re)opens the blob itself (GET with `Range`) and
  /// resumes a broken body; when null it only streams the response it was
  /// given (manifests).
  std::shared_ptr<repository_state> repo;
  descriptor target;
  std::string url;
  std::uint64_t offset = 0;
  /// Exclusive end; nullopt: the descriptor's size.
  std::optional<std::uint64_t> end;
  /// The hash of bytes [0, offset). Nullopt makes a raw range reader, which
  /// verifies nothing (a parallel download's segment, hashed by its owner).
  std::optional<digester> hasher;
};

class blob_reader_impl {
 public:
  /// Opens `setup.url` at `setup.offset` (GET, with `Range` unless at 0 of
  /// the whole blob) and checks the answer. Needs `setup.repo`.
  static boost::asio::awaitable<std::unique_ptr<blob_reader_impl>> open(blob_reader_setup setup);
  /// Streams `resp`, whose body starts at `setup.offset`.
  blob_reader_impl(blob_reader_setup setup, http::response resp);
  /// Serves `bytes` (a body that had to be read before its descriptor was known).
  blob_reader_impl(http::client client, std::string bytes, http::fields headers, descriptor target,
                   std::string url);

  /// Runs on the client's strand. Throws `asio::error::eof` after the verified end.
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
  /// The rest of the content, verified; `errc::size_limit_exceeded` when the
  /// descriptor's size is above `limit`.
  boost::asio::awaitable<std::string> read_all(std::uint64_t limit);
  /// Moves to byte `pos`, hashing whatever it skips (see blob_reader::async_seek).
  boost::asio::awaitable<void> seek(std::uint64_t pos);
  /// For a reader served from memory and at its start: the whole content
  /// when it fits `limit` and verifies, leaving the reader at its end; else
  /// nullopt (read_all then says why). No I/O: safe off the strand while no
  /// operation of this reader runs.
  std::optional<std::string> take_verified(std::uint64_t limit);

  const descriptor& target() const noexcept { return target_; }
  std::uint64_t offset() const noexcept { return offset_; }
  std::uint64_t resumes() const noexcept { return resumes_; }
  const http::fields& headers() const noexcept;
  const http::client& client() const noexcept { return client_; }
  diagnostics diag;

 private:
  explicit blob_reader_impl(blob_reader_setup setup);
  boost::asio::awaitable<void> connect();
  boost::asio::awaitable<std::size_t> fill(boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<std::size_t> receive(boost::asio::mutable_buffer buffer, bool& ended);
  boost::asio::awaitable<void> hash(const void* data, std::size_t n);
  boost::asio::awaitable<void> finish();
  bool resumable(const std::exception_ptr& e) const;

  http::client client_;
  std::shared_ptr<repository_state> repo_;
  descriptor target_;
  std::string url_;
  std::uint64_t offset_ = 0;
  std::uint64_t end_ = 0;
  std::optional<digester> hasher_;
  // Hash states to restart from when seeking back: (offset, state), ascending.
  std::vector<std::pair<std::uint64_t, digester>> checkpoints_;

  http::response resp_;
  bool connected_ = false;       // resp_ holds the body at offset_ (+ skip_)
  std::uint64_t skip_ = 0;       // body bytes to drop first (a 200 to a Range request)
  bool ranges_ignored_ = false;  // the registry answered a Range request with 200
  int failures_ = 0;             // consecutive resumes without progress
  std::uint64_t resumes_ = 0;

  std::string memory_;
  http::fields memory_headers_;
  bool from_memory_ = false;
  bool done_ = false;
};

}  // namespace coras::remote

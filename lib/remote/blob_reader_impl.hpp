// The blob reader's implementation: a response body (or bytes already read
// into memory), hashed as it is handed out.
#pragma once

#include <coras/core/digest.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/blob_reader.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>

namespace coras::remote {

class blob_reader_impl {
 public:
  /// Streams `resp`'s body; `method` and `url` name the request in errors.
  blob_reader_impl(http::client client, http::response resp, descriptor target, std::string url);
  /// Serves `bytes` (a body that had to be read before its descriptor was known).
  blob_reader_impl(http::client client, std::string bytes, http::fields headers, descriptor target,
                   std::string url);

  /// Runs on the client's strand. Throws `asio::error::eof` after the verified end.
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
  /// The rest of the content, verified; `errc::size_limit_exceeded` when the
  /// descriptor's size is above `limit`.
  boost::asio::awaitable<std::string> read_all(std::uint64_t limit);

  const descriptor& target() const noexcept { return target_; }
  std::uint64_t offset() const noexcept { return offset_; }
  const http::fields& headers() const noexcept;
  const http::client& client() const noexcept { return client_; }
  diagnostics diag;

 private:
  boost::asio::awaitable<std::size_t> next(boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<void> finish();

  http::client client_;
  http::response resp_;
  std::string memory_;
  http::fields memory_headers_;
  bool from_memory_ = false;
  descriptor target_;
  std::string url_;
  digester hasher_;
  std::uint64_t offset_ = 0;
  bool verified_ = false;
};

}  // namespace coras::remote

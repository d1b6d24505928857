/// @file
/// The HTTP/1.1 client under every registry operation: a connection pool per
/// origin, TLS, redirects, retries, time limits and streamed bodies.
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/detail/initiate.hpp>
#include <coras/http/fields.hpp>
#include <coras/http/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coras::http {

class client_impl;
class response_impl;

/// One request. `url` is absolute (`http://` or `https://`). The client adds
/// Host, User-Agent and Content-Length or Transfer-Encoding.
struct request {
  std::string method = "GET";  ///< request method
  std::string url;             ///< absolute URL
  /// Header fields sent as they are.
  http::fields headers;
  /// nullptr: no body.
  std::shared_ptr<byte_source> body;
  /// Whether the request may be sent again after a connection failure or a
  /// 429/502/503/504. Defaults to true for GET, HEAD, PUT, DELETE and OPTIONS.
  /// A body that cannot be rewound is never re-sent whatever this says.
  std::optional<bool> retryable;
  /// Follow redirects (otherwise a 3xx is returned as it is).
  bool follow_redirects = true;
  /// The request carries a secret in a place a redirect would re-send: a
  /// form body with a password or refresh token, a Basic header for a token
  /// realm. Such a request is never sent to another origin: a redirect that
  /// changes scheme, host or port fails with `errc::denied` (the message names
  /// both origins). Without it, a redirect to another origin drops only
  /// Authorization, Proxy-Authorization and Cookie and keeps the body (a blob
  /// GET redirected to a CDN needs that). Set by coras's token requests.
  bool carries_credentials = false;
  /// The token scopes this request needs (`repository:NAME:pull`,
  /// `registry:catalog:*`…): a cached token for them is sent up front, and a
  /// Bearer challenge is answered with a token for them and the challenge's.
  std::vector<std::string> scopes;
};

/// A response whose header has arrived; its body is read with
/// `async_read_some` / `async_read_all`. The connection goes back to the pool
/// once the body has been read to its end; destroying the response earlier
/// closes the connection instead.
///
/// @par Handler signature
/// Given on each operation. The default token is
/// `coras::default_completion_token_t`: `co_await` gives the value and
/// throws `coras::error` on failure. There is no `diagnostics&` overload.
///
/// @par Object lifetimes
/// Movable, not copyable. Operations capture a pointer to the implementation
/// object, which stays put when the response is moved: a deferred operation
/// made from a response stays valid when the response is moved. The response
/// (or the one it was moved into) must not be destroyed before an operation
/// completes; the client must outlive it.
///
/// @par Executor
/// The work runs on the client's strand; handlers run on their associated
/// executor.
///
/// @par Per-operation cancellation
/// Terminal: the operation completes with
/// `boost::asio::error::operation_aborted` and the connection is closed.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: unsafe; one operation at a time.
class response {
 public:
  /// A response to nothing; only assigning to it is useful.
  response() noexcept;
  /// Move constructor.
  response(response&&) noexcept;
  /// Move assignment.
  response& operator=(response&&) noexcept;
  /// Closes the connection when the body was not read to its end.
  ~response();

  /// The HTTP status code.
  unsigned status() const noexcept;
  /// The response's header fields.
  const http::fields& headers() const noexcept;
  /// The URL that answered (differs from the request's after redirects).
  const std::string& url() const noexcept;
  /// Content-Length when the response has one.
  std::optional<std::uint64_t> content_length() const noexcept;
  /// True once the whole body has been read (or there is none).
  bool body_done() const noexcept;

  /// Reads the next bytes of the body into `buffer`. Completes with the count
  /// read; `boost::asio::error::eof` once the body is done.
  ///
  /// @par Handler signature
  /// `void(error_code, std::size_t)`.
  ///
  /// @par Errors
  /// `boost::asio::error::eof` at the end, `errc::timeout` (`body_idle`),
  /// connection and TLS errors.
  ///
  /// @par Object lifetimes
  /// The memory `buffer` points to must stay valid until completion.
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_some(boost::asio::mutable_buffer buffer, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code, std::size_t)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, boost::asio::mutable_buffer b) {
          read_some_start(impl, d, b, std::move(handler));
        },
        nullptr, buffer);
  }

  /// Reads the rest of the body into a string, failing with
  /// `errc::size_limit_exceeded` past `limit` bytes (checked against
  /// Content-Length first, so an oversized body is not read at all).
  ///
  /// @par Handler signature
  /// `void(error_code, std::string)`.
  ///
  /// @par Errors
  /// `errc::size_limit_exceeded`, `errc::timeout`, connection and TLS errors.
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_all(std::uint64_t limit, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code, std::string)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, std::uint64_t l) {
          read_all_start(impl, d, l, std::move(handler));
        },
        nullptr, limit);
  }

  /// @cond INTERNAL
  /// Internal: the implementation object (used by coras's own layers).
  response_impl* impl() const noexcept { return impl_.get(); }
  /// Internal: wraps an implementation object.
  explicit response(std::unique_ptr<response_impl> impl) noexcept;
  /// @endcond

 private:
  static void read_some_start(response_impl* impl, diagnostics* d, boost::asio::mutable_buffer b,
                              boost::asio::any_completion_handler<void(error_code, std::size_t)> h);
  static void read_all_start(response_impl* impl, diagnostics* d, std::uint64_t limit,
                             boost::asio::any_completion_handler<void(error_code, std::string)> h);
  std::unique_ptr<response_impl> impl_;
};

/// The HTTP client: owns the connection pool, TLS context and options, and is
/// shared by every repository handle made from it. Copies are cheap handles
/// to the same client. All work runs on a strand of the executor given at
/// construction; the client starts no threads (Asio's resolver may use its
/// own internal one for getaddrinfo).
///
/// @par Object lifetimes
/// `async_send` captures the client's shared implementation, never `this`:
/// a deferred operation stays valid when the handle is moved. The `request`
/// is moved into the operation.
///
/// @par Executor
/// The work runs on the client's strand; handlers run on their associated
/// executor.
///
/// @par Per-operation cancellation
/// Terminal: the operation completes with
/// `boost::asio::error::operation_aborted` and the connection in use is
/// closed.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: safe; operations may be started
/// from any thread.
class client {
 public:
  /// The type of the executor the client takes and hands out.
  using executor_type = boost::asio::any_io_executor;

  /// Throws `coras::error` when TLS files cannot be loaded.
  explicit client(executor_type executor, client_options options = {});

  /// The client's strand (on the executor given at construction), where its
  /// work runs.
  executor_type get_executor() const noexcept;
  /// The options given at construction.
  const client_options& options() const noexcept;

  /// Sends `req` and completes when the response header has arrived (after
  /// following redirects and retries). Non-2xx statuses are not errors here.
  /// The default token is `coras::default_completion_token_t` (`co_await`
  /// throws `coras::error`); there is no `diagnostics&` overload.
  ///
  /// @par Handler signature
  /// `void(error_code, response)`.
  ///
  /// @par Errors
  /// `errc::timeout`, `errc::too_many_redirects`, `errc::denied` (a request
  /// that `carries_credentials` redirected to another origin), connection and
  /// TLS errors from Asio/OpenSSL.
  template <class Token = ::coras::default_completion_token_t>
  auto async_send(request req, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code, response)>(
        std::forward<Token>(token),
        [impl = impl_](diagnostics* d, auto handler, request r) {
          send_start(impl, d, std::move(r), std::move(handler));
        },
        nullptr, std::move(req));
  }

  /// A snapshot of the counters.
  client_stats stats() const;

  /// @cond INTERNAL
  /// Internal: the implementation object (used by coras's own layers).
  const std::shared_ptr<client_impl>& impl() const noexcept { return impl_; }
  /// @endcond

 private:
  static void send_start(std::shared_ptr<client_impl> impl, diagnostics* d, request req,
                         boost::asio::any_completion_handler<void(error_code, response)> h);
  std::shared_ptr<client_impl> impl_;
};

}  // namespace coras::http

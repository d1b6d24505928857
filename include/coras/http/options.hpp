/// @file
/// Options of the HTTP client: every default written here is the one in force.
#pragma once

#include <coras/core/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace coras::http {

using std::chrono::milliseconds;

/// Authenticates requests for a client (answers 401 challenges). Implemented
/// by the auth layer: make one with `coras::auth::make_authorizer`.
class authorizer;

/// TLS settings. Verification of the certificate chain and of the host name
/// is on unless `insecure_skip_verify` is set.
struct tls_options {
  /// Trust the system's CA store (OpenSSL's default paths). Read when the
  /// client opens its first TLS connection, not when it is constructed.
  bool use_system_trust = true;
  /// Extra CA certificates (PEM file), trusted in addition to the system's.
  std::string ca_file;
  /// Client certificate chain and key (PEM) for mutual TLS; both or neither.
  std::string client_cert_file;
  /// The private key of `client_cert_file` (PEM).
  std::string client_key_file;
  /// Accept any certificate. For tests against throw-away certificates only.
  bool insecure_skip_verify = false;
};

/// Retries of idempotent requests: on a connection failure before any byte of
/// the response, and on 429, 502, 503 and 504.
///
/// Not a retry: an idempotent request that fails before its response on a
/// pooled connection that had answered before (the server closed it while it
/// sat idle) is sent once more at once, without a backoff and whatever
/// `max_retries` says, as Go's and curl's clients do; the next such failure
/// of the same request is a retry.
struct retry_options {
  /// Attempts after the first; 0 disables retries.
  int max_retries = 5;
  /// Backoff before retry n is a random duration in [b/2, b] with
  /// b = min(initial_backoff * 2^n, max_backoff) ("equal jitter").
  milliseconds initial_backoff{200};
  /// The upper bound of the backoff (see `initial_backoff`).
  milliseconds max_backoff{10'000};
  /// A `Retry-After` (seconds or HTTP-date) is honoured up to this long; a
  /// longer one is not waited for and the 429/503 response is returned.
  milliseconds max_retry_after{60'000};
};

/// Time limits. A limit that fires fails the operation with `errc::timeout`
/// (a caller's own cancellation gives `operation_aborted` instead).
struct timeout_options {
  milliseconds connect{30'000};          ///< DNS resolution and TCP connect
  milliseconds tls_handshake{30'000};    ///< TLS handshake (and proxy CONNECT)
  milliseconds response_header{60'000};  ///< from the last request byte to the response header
  milliseconds body_idle{60'000};        ///< longest silence while a body is sent or received
  milliseconds pool_idle{90'000};        ///< an unused pooled connection is closed after this

  /// A pooled connection idle this long or longer is peeked at (a
  /// non-blocking read: did the server close it, or send something unasked?)
  /// before it is reused; one returned more recently is used without that
  /// system call by a request that such a failure would send again
  /// (idempotent, its body replayable, a retry left). A close that raced it
  /// fails that request before its response, which is retried as any
  /// connection failure, and its origin's connections are peeked at every
  /// reuse from then on. 0: peek every time.
  milliseconds pool_peek_after{1'000};
};

/// One `Warning` header a registry sent (only code 299 with agent "-", as
/// the distribution spec and oras-go use them).
struct warning {
  std::string text;  ///< the quoted text, unquoted
  std::string url;   ///< the request URL it came with, credentials stripped
};

/// One finished request, for logs and metrics.
struct request_event {
  std::string method;                              ///< request method
  std::string url;                                 ///< credentials stripped
  unsigned status = 0;                             ///< 0 when no response arrived
  std::uint64_t request_body_bytes = 0;            ///< body bytes sent
  std::uint64_t response_body_bytes = 0;           ///< body bytes received
  std::chrono::steady_clock::duration duration{};  ///< how long the exchange took
  bool connection_reused = false;                  ///< whether a pooled connection was used
  error_code error;                                ///< set when the exchange failed
};

/// Options of an `http::client`.
struct client_options {
  /// Connections kept to one origin (scheme, host, port) at most; further
  /// requests wait in order for one to be returned. Also how many repository
  /// operations to one origin run at once: the others wait unstarted, in
  /// order, about 1 KiB each (docs/http.md, "Queued requests").
  std::size_t max_connections_per_origin = 16;
  /// TLS settings.
  tls_options tls;
  /// Retries of idempotent requests.
  retry_options retry;
  /// Time limits.
  timeout_options timeouts;
  /// Redirects followed per request (301, 302, 303, 307, 308).
  int max_redirects = 10;
  /// Metadata (manifests, token and error bodies, tag lists) read into memory
  /// is capped at this many bytes: `errc::size_limit_exceeded` beyond it.
  std::uint64_t max_metadata_bytes = 4 * 1024 * 1024;
  /// Proxy for every request, e.g. "http://proxy:3128"; empty means read
  /// HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower-case forms) from the
  /// environment at construction. "direct" disables proxies. Only http://
  /// proxies; `http://user:password@proxy:3128` (percent-encoded) sends
  /// `Proxy-Authorization: Basic` to the proxy only (on CONNECT for https
  /// origins, on absolute-form requests for http ones), never to an origin,
  /// never into a message or `on_request`.
  std::string proxy;
  /// Hosts that bypass the proxy (NO_PROXY syntax); empty means from the environment.
  std::string no_proxy;
  /// The `User-Agent` header sent with every request.
  std::string user_agent = "coras/0.1";
  /// Called for each well-formed `Warning: 299 - "…"` header.
  std::function<void(const warning&)> on_warning;
  /// Called once per request exchange (each redirect hop and retry counts).
  std::function<void(const request_event&)> on_request;
  /// Answers a registry's 401 `WWW-Authenticate` challenges (Basic, Bearer)
  /// and keeps the tokens it fetched: `coras::auth::make_authorizer(credentials)`
  /// (coras/auth/authorizer.hpp). Null (the default): requests are sent as
  /// they are and a 401 reaches the caller as `errc::unauthorized`. Give one
  /// authorizer to one client; see docs/auth.md.
  std::shared_ptr<authorizer> auth;
  /// Where the CPU work of transfers goes (hashing large reads, file reads
  /// and writes of downloads): an executor with threads of its own (e.g. an
  /// `asio::thread_pool`'s), so that a transfer uses more than the one thread
  /// the client's strand runs on at a time. Unset (the default): that work
  /// runs on the client's strand, and coras uses no other thread.
  std::optional<boost::asio::any_io_executor> work_executor;
  /// Promises that one thread runs the io_context of the client's executor
  /// (other threads may still start operations and drop responses: those
  /// reach the client through its executor). The client then uses that
  /// executor as it is instead of a strand of it: the strand's hops and its
  /// reference count, copied with every executor, cost about 4,000
  /// instructions a manifest request (docs/http.md, "One thread"). With two
  /// threads running that io_context the client's state would be raced:
  /// leave it false (the default) unless the promise holds.
  bool single_threaded = false;
};

/// Counters for tests and metrics; read with `client::stats()`.
struct client_stats {
  std::uint64_t connections_opened = 0;  ///< connections opened
  std::uint64_t tls_handshakes = 0;      ///< full and resumed
  std::uint64_t tls_resumed = 0;         ///< handshakes that resumed a session
  std::uint64_t requests = 0;            ///< exchanges started (hops and retries count)
  std::uint64_t connections_reused = 0;  ///< exchanges that used a pooled connection
  std::uint64_t tokens_fetched = 0;      ///< bearer tokens fetched by the authorizer
};

}  // namespace coras::http

/// @file
/// The embedded OCI registry: a small but real OCI distribution-spec v1.1
/// registry (HTTP/1.1, optional TLS, basic or bearer-token auth, the Referrers
/// API) for tests, benchmarks, demos and `coras serve`.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coras::server {

/// Where a registry keeps blobs, manifests and tags. Opaque: make one with
/// `make_memory_storage()` or `open_storage()`, then hand it to any number of
/// registries (`registry_options::storage`) so that they serve the same
/// content, e.g. an authenticated registry and the unauthenticated "other
/// origin" its blob GETs are redirected to. Thread-safe: registries running on
/// different threads may share one.
class storage;
class upstream;  // <coras/server/upstream.hpp>

namespace detail {
struct registry_impl;
}

/// Content kept in memory; lost when the last registry using it goes away.
std::shared_ptr<storage> make_memory_storage();

/// Content kept under `root` (created when missing), reloaded from there by the
/// next call with the same root:
///
///     root/blobs/<alg>/<hex>                              blob and manifest bytes
///     root/repositories/<name>/_blobs/<alg>/<hex>         (empty) blob is in <name>
///     root/repositories/<name>/_manifests/<alg>/<hex>     the manifest's media type
///     root/repositories/<name>/_tags/<tag>                the digest <tag> points to
///     root/uploads/<uuid>                                 uploads in progress
///
/// Blobs are written under root/uploads and renamed into root/blobs only after
/// their digest was verified. Unfinished uploads are removed at open.
/// Throws `std::filesystem::filesystem_error` when `root` cannot be used.
std::shared_ptr<storage> open_storage(const std::filesystem::path& root);

/// A user name and password (basic auth, or the token endpoint's credentials).
struct credentials {
  std::string username;  ///< compared in constant time, as the password
  std::string password;  ///< compared in constant time
};

/// How a registry listens and behaves. Every field has a usable default: the
/// default registry is plain HTTP on 127.0.0.1, an ephemeral port, in-memory
/// storage, no auth, every optional API on.
struct registry_options {
  /// Address to bind. Tests always pass loopback; any address is accepted.
  std::string address = "127.0.0.1";
  /// Port to bind; 0 picks a free one (read it back with `registry::port()`).
  std::uint16_t port = 0;

  /// Storage directory; empty keeps everything in memory. Ignored when
  /// `storage` is set.
  std::filesystem::path root;
  /// Shared storage (see `storage`); when null, one is made from `root`.
  std::shared_ptr<server::storage> storage;

  /// PEM certificate chain and private key: when both are set the registry
  /// speaks HTTPS (HTTP/1.1 only: no ALPN, so clients never negotiate h2).
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;  ///< see `tls_cert_file`

  /// The Referrers API. Off: `GET /v2/<name>/referrers/<digest>` answers 404
  /// with the plain-text body `404 page not found` (as distribution 2.8 does)
  /// and manifest PUTs never answer `OCI-Subject`.
  bool referrers_api = true;
  /// Range requests on blob GETs. Off: `Range` is ignored and `Accept-Ranges`
  /// never sent.
  bool range_requests = true;
  /// Cross-repository blob mounts. Off: every mount request answers 202 with a
  /// fresh upload session.
  bool mount = true;
  /// Sparse indexes: an index (or Docker manifest list) whose manifests are
  /// not all in the repository is accepted, as registries that keep one
  /// platform of a multi-platform image do (a copy of one platform with its
  /// index kept). Its children's blobs are not checked either: they are not
  /// there. Off (the default): such a PUT answers 400
  /// `MANIFEST_BLOB_UNKNOWN`, its detail naming the missing manifest and this
  /// option. A manifest's config and layers must exist either way.
  bool allow_sparse_index = false;

  /// Basic auth: every /v2/ request needs these credentials (401 with
  /// `WWW-Authenticate: Basic realm="coras"` otherwise).
  std::optional<credentials> basic_auth;
  /// Bearer token auth (wins over `basic_auth` when both are set): requests
  /// need a token from the built-in endpoint `/token`, which grants every
  /// requested scope to these credentials. A request without a sufficient
  /// token gets Docker Hub's challenge:
  /// `Bearer realm="<scheme>://<host>/token",service="coras",scope="repository:<name>:<actions>"`.
  std::optional<credentials> token_auth;
  /// With basic auth: GET/HEAD need no credentials. With token auth: the token
  /// endpoint grants `pull` without credentials.
  bool anonymous_pull = false;
  /// Lifetime of issued bearer tokens (`expires_in`). Tokens are stateless
  /// (HMAC-SHA256 with a random per-process key, the expiry signed inside):
  /// issuing them costs no memory, and they die with the process.
  std::chrono::seconds token_lifetime{300};
  /// Lifetime of refresh tokens (`offline_token=true`, password grant); an
  /// expired one answers 401 `invalid refresh token`.
  std::chrono::seconds refresh_token_lifetime{24 * 3600};
  /// Token realm announced in challenges; empty: `<scheme>://<address>:<port>/token`
  /// of the listening socket (never the request's Host header). Set it when
  /// clients reach the registry under another name (a wildcard address, a proxy).
  std::string token_realm;

  /// Upload sessions (issue 17, item 10). A request that would exceed one of
  /// these limits is answered 429 with a `TOOMANYREQUESTS` error whose detail
  /// names the limit, e.g. "upload session limit
  /// (registry_options::max_upload_sessions = 256) reached". Bytes count as
  /// they arrive (a declared `Content-Length` beyond the room left is refused
  /// before its body is read); memory storage allocates only what arrived.
  /// With a shared `storage`, the sessions of every registry using it count.
  ///
  /// Open sessions in all repositories.
  std::size_t max_upload_sessions = 256;
  /// Open sessions in one repository.
  std::size_t max_upload_sessions_per_repository = 64;
  /// Bytes held by open sessions in all repositories (committed blobs no longer count).
  std::uint64_t max_upload_bytes = std::uint64_t{8} << 30;
  /// Bytes held by open sessions in one repository.
  std::uint64_t max_upload_bytes_per_repository = std::uint64_t{4} << 30;
  /// A session no request touched for this long is ended (its bytes
  /// discarded; requests on it answer 404 `BLOB_UPLOAD_UNKNOWN`). Expired
  /// sessions are swept when a session starts and when one is looked up.
  std::chrono::seconds upload_idle_timeout{600};

  /// Largest manifest accepted by PUT (413 beyond).
  std::size_t max_manifest_bytes = 4 * 1024 * 1024;
  /// Connections (issue 17, item 12). At most this many are open at once.
  /// A new connection beyond it closes the one that waited longest for a
  /// request (idle between requests, or still sending its head); when every
  /// open connection is busy with a request, the new one is closed at once.
  /// (`registry_stats::connections_evicted`, `connections_refused` count them.)
  std::size_t max_connections = 1024;
  /// A connection idle longer than this between requests (no byte of a next
  /// request) is closed.
  std::chrono::seconds idle_timeout{60};
  /// A request head must be complete this long after its first byte (and a
  /// TLS handshake done this long after the connection opened); else the
  /// connection is closed (slow-header clients).
  std::chrono::seconds header_timeout{10};
  /// A request body read (up to 256 KiB) that makes no progress for this long
  /// closes the connection (slow-body clients). Responses are not timed: a
  /// large blob to a slow reader may take long.
  std::chrono::seconds body_timeout{60};
  /// How many requests `registry::recent_requests()` remembers.
  std::size_t request_log_capacity = 256;
  /// A pull-through cache's upstream (`<coras/server/upstream.hpp>`, made by
  /// `coras::mirror::make_upstream`): consulted when a manifest or blob is
  /// absent, for tag freshness, tag and referrers listings, and writes. Null:
  /// the registry serves only what was pushed to it.
  std::shared_ptr<server::upstream> upstream;
};

/// Counters since start (or the last `reset_stats()`).
struct registry_stats {
  std::uint64_t connections_accepted = 0;  ///< connections accepted (TCP)
  std::uint64_t tls_handshakes = 0;        ///< completed TLS handshakes
  std::uint64_t requests = 0;              ///< request heads read (each keep-alive request counts)
  /// Waiting connections closed to make room (`registry_options::max_connections`).
  std::uint64_t connections_evicted = 0;
  /// New connections closed at once because every open one was busy.
  std::uint64_t connections_refused = 0;
  /// Injected faults that a request or connection took (blob GET and upload
  /// cuts, status, delay and header faults, corrupted bodies, handshake
  /// resets): pending ones do not count, nor `drop_upload_sessions()`.
  std::uint64_t faults_injected = 0;
};

/// One request as the registry saw it. Credentials are never recorded: only
/// whether an `Authorization` header was present.
struct request_record {
  std::string method;          ///< as sent, e.g. "GET"
  std::string target;          ///< path and query, as sent
  bool authorization = false;  ///< whether an `Authorization` header was present
  /// The status answered; 0 when no response was sent: an upload request cut
  /// by `registry::cut_uploads` (an upload cut).
  unsigned status = 0;
  /// Selected request headers, when present: Host, Range, Content-Type,
  /// Content-Length, Content-Range, Transfer-Encoding, Accept, Expect, User-Agent.
  std::vector<std::pair<std::string, std::string>> headers;

  /// The value of header `name` (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
};

/// Status fault (`registry::inject_status`): answer the next `count`
/// requests whose path contains `path_contains` (every request when empty)
/// with `status`, a JSON error body and, when non-empty,
/// `Retry-After: <retry_after>`.
struct status_fault {
  unsigned status = 503;      ///< the status to answer with
  unsigned count = 1;         ///< how many matching requests get it
  std::string path_contains;  ///< requests whose path contains this (all when empty)
  std::string retry_after;    ///< a `Retry-After` value to send; empty: none
  /// An OCI error code for the body (e.g. "NAME_UNKNOWN"); empty: the
  /// status's usual code (401, 403, 429) or a plain-text body.
  std::string code;
};

/// Delay fault (`registry::inject_delay`): for the next `count` requests
/// whose path contains `path_contains`, wait `before_headers` before sending
/// the response, and for blob GETs also `mid_body` after half of the body was
/// sent.
struct delay_fault {
  std::chrono::milliseconds before_headers{0};  ///< wait before the response head
  std::chrono::milliseconds mid_body{0};        ///< blob GETs: wait after half the body
  unsigned count = 1;                           ///< how many matching requests are delayed
  std::string path_contains;  ///< requests whose path contains this (all when empty)
};

/// Header fault (`registry::inject_headers`): for the next `count` responses
/// whose request path contains `path_contains` (every path when empty) and
/// whose method is `method` (any when empty, else e.g. "GET" or "HEAD";
/// case-insensitive), change the response headers: drop every header named in
/// `remove` (case-insensitive), then send each (name, value) of `set`
/// (replacing a header of that name). With `unknown_length`, a body is sent
/// with `Transfer-Encoding: chunked` instead of `Content-Length`, and a HEAD
/// response carries neither. Whatever response the matching request gets is
/// changed (errors too). The body bytes never change, and the connection stays
/// usable: the framing headers (`Content-Length`, `Transfer-Encoding`) are
/// left alone by `remove`/`set` when a body follows (not for HEAD),
/// `Connection` always.
struct header_fault {
  std::string path_contains;                             ///< all paths when empty
  std::string method;                                    ///< any method when empty
  unsigned count = 1;                                    ///< how many responses are changed
  std::vector<std::string> remove;                       ///< header names to drop
  std::vector<std::pair<std::string, std::string>> set;  ///< headers to send (replacing)
  bool unknown_length = false;                           ///< chunked instead of Content-Length
};

/// The registry. It accepts on `start()` and serves every connection as a
/// coroutine on a strand of the executor given at construction: all protocol
/// state lives on that strand, so the executor may be multi-threaded.
///
/// Thread-safety: `start()`, `stop()` and every accessor and test hook may be
/// called from any thread, also while the executor runs.
/// Lifetime: the registry may be destroyed while connections are open (the
/// destructor calls `stop()`); connection coroutines keep the shared state alive
/// until they finish. Storage outlives every registry that uses it.
class registry {
 public:
  /// Creates the registry (no socket yet). Opens `options.root` when given and
  /// loads its tags, manifests and blobs; loads the TLS files when given.
  /// Throws on an unusable root or TLS file.
  registry(boost::asio::any_io_executor executor, registry_options options = {});
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Binds `address:port` synchronously (throws `boost::system::system_error`
  /// when that fails) and starts accepting. Call once.
  void start();
  /// Closes the listening socket and every open connection. Idempotent. The
  /// port is released before `stop()` returns (a registry may bind it again
  /// at once); the sockets are closed and the connections' coroutines finish
  /// on the executor shortly after.
  void stop();

  /// The bound port (valid after `start()`).
  std::uint16_t port() const noexcept;
  /// `http://<address>:<port>` or `https://…` (valid after `start()`), with IPv6
  /// addresses in brackets.
  std::string url() const;
  /// `<address>:<port>`, what goes into a reference.
  std::string host() const;
  /// The storage in use (hand it to another registry to serve the same content).
  std::shared_ptr<server::storage> storage() const;
  /// The executor given at construction.
  boost::asio::any_io_executor get_executor() const noexcept;

  // ---- test hooks: counters, request log, fault injection ----

  /// The counters since start or the last `reset_stats()`. Thread-safe.
  registry_stats stats() const noexcept;
  /// Sets every counter to 0.
  void reset_stats() noexcept;
  /// The most recent requests, oldest first (at most `request_log_capacity`).
  std::vector<request_record> recent_requests() const;
  /// Forgets the logged requests.
  void clear_request_log();

  /// Blob GET cut: cut the next `count` blob GET responses (200 or 206) after
  /// `after_bytes` body bytes by closing the connection.
  void cut_blob_gets(std::uint64_t after_bytes, unsigned count = 1);
  /// Blob GET cut, one offset per response: the next blob GET is cut after
  /// `offsets[0]` body bytes, the one after it after `offsets[1]`, and so on.
  void cut_blob_gets(std::vector<std::uint64_t> offsets);
  /// Status fault, see `status_fault`. Replaces a pending status fault.
  void inject_status(status_fault fault);
  /// Delay fault, see `delay_fault`. Replaces a pending delay fault.
  void inject_delay(delay_fault fault);
  /// Blob GET redirect: answer every blob GET with `307 Temporary Redirect` to
  /// `base_url + "/v2/<name>/blobs/<digest>"` (an empty `base_url` turns this
  /// off). Point it at a second registry sharing this one's storage.
  void redirect_blob_gets(std::string base_url);
  /// Header fault, see `header_fault`. Replaces a pending header fault.
  void inject_headers(header_fault fault);
  /// Upload cut: cut the next `count` upload requests that carry a body — PATCH
  /// or PUT (`?digest=` with a last chunk) on `/v2/<name>/blobs/uploads/<uuid>`
  /// — after `after_bytes` bytes of that request's body. The bytes received up
  /// to the cut stay in the session, as distribution keeps them: the status
  /// GET reports them (`Range: 0-<last>`) and the next PATCH continues after
  /// them. The rest of the request is not processed (a cut PUT commits
  /// nothing, the session stays open) and the connection is closed without a
  /// response (an RST when the client is still sending). A body of at most
  /// `after_bytes` bytes is stored whole before the close: a lost response.
  /// Requests without a body, requests refused before their body is read (404,
  /// 416, an injected status…) and monolithic `POST ?digest=` uploads are
  /// never cut and do not count. The request log records a cut request with
  /// status 0. Replaces pending upload cuts; `count == 0` removes them.
  void cut_uploads(std::uint64_t after_bytes, unsigned count = 1);
  /// Upload cut, one offset per request: the next upload request with a body is
  /// cut after `offsets[0]` bytes of its body, the one after it after
  /// `offsets[1]`, and so on. Replaces pending upload cuts.
  void cut_uploads(std::vector<std::uint64_t> offsets);
  /// Lost upload sessions, immediate: the registry "loses" every upload session in
  /// progress. The next GET, PATCH, PUT or DELETE on any of them answers 404
  /// `BLOB_UPLOAD_UNKNOWN`; their bytes are discarded (disk storage: the files
  /// under root/uploads are removed). The sessions live in the storage, so with
  /// a shared storage the other registries lose them too. A request streaming
  /// into a session at the moment of the call completes as if nothing happened
  /// (a PATCH answers 202, a PUT may still commit); the next one gets the 404.
  /// Returns how many sessions were dropped. Nothing for `clear_faults()` to undo.
  std::size_t drop_upload_sessions();
  /// Corrupted blob GET: the next `count` blob GETs (200 or 206) that have a
  /// body and whose blob is held in memory (not `root` storage) send it with
  /// one byte changed, headers and length unchanged: wrong bytes, which only
  /// the client's digest check can catch. Replaces pending corruptions;
  /// `count == 0` removes them.
  void corrupt_blob_gets(unsigned count = 1);
  /// TLS handshake reset: the next `count` connections to a TLS registry have
  /// their ClientHello read, then are reset (RST) instead of answered. Not
  /// taken by a plain-HTTP registry. Replaces pending resets; `count == 0`
  /// removes them.
  void reset_tls_handshakes(unsigned count = 1);
  /// Removes every pending fault (upload cuts, corruptions and handshake
  /// resets included) and the redirect.
  void clear_faults();

 private:
  std::shared_ptr<detail::registry_impl> impl_;
};

}  // namespace coras::server

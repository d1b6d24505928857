// The dispatcher: the registry's request handling without sockets. A request
// head goes in (`exchange::head`), the dispatcher says whether it wants the
// body and where it goes (`exchange::sink`), and a `reply` comes out for the
// I/O layer (connection.cpp) to write. Its member functions live in one file per
// concern, as the integration tests are split:
//
//   dispatcher.cpp      routing, authorization, body plumbing (begin, on_body, finish)
//   token_endpoint.cpp  GET and POST /token
//   manifests.cpp       /v2/<name>/manifests/<reference>
//   blobs.cpp           /v2/<name>/blobs/<digest>
//   uploads.cpp         /v2/<name>/blobs/uploads/…
//   listings.cpp        /v2/_catalog, tags/list, referrers
//   upstream.cpp        a pull-through cache's seam (registry_options::upstream):
//                       misses, listings passed through, refused writes, /metrics
//
// The test hooks it takes faults from are in hooks.hpp; request and reply are
// in message.hpp.
#pragma once

#include "server/auth.hpp"
#include "server/hooks.hpp"
#include "server/limits.hpp"
#include "server/message.hpp"
#include "server/protocol.hpp"
#include "server/storage.hpp"

#include <coras/core/digest.hpp>
#include <coras/server/registry.hpp>
#include <coras/server/upstream.hpp>

#include <boost/url/params_view.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server::detail {

/// Where a request's body goes.
enum class body_sink {
  none,     // the request has no use for a body (drained or refused by the I/O layer)
  collect,  // into `exchange::collected`, at most `exchange::limit` bytes
  upload,   // appended to `exchange::session` as it arrives
};

/// One request in progress.
struct exchange {
  request_head head;
  route where;
  body_sink sink = body_sink::none;
  std::size_t limit = 0;
  std::string collected;
  std::shared_ptr<upload> session;
  bool session_acquired = false;
  std::optional<digest> expected;  // upload finishing with ?digest=
  std::vector<std::string> tags;   // manifest PUT: the tags to point at it
  // Upload cut: this request's body is cut after this many bytes.
  std::optional<std::uint64_t> cut_after;
  std::uint64_t received = 0;  // body bytes appended to `session` by this request
  std::string token_grant;     // token POST: the form is parsed in finish()
  bool upstream_done = false;  // the upstream was asked: answer from the storage now
  reply out;
};

class dispatcher {
 public:
  dispatcher(const registry_options& options, std::shared_ptr<storage> store, hooks& h);

  /// Decides the response, or where the body goes (`ex.sink`); `ex.head` is set.
  void begin(exchange& ex);
  /// A piece of the body. False: stop reading; `ex.out` is final (the I/O layer
  /// closes the connection after it, the rest of the body being unread).
  bool on_body(exchange& ex, std::string_view chunk);
  /// The whole body arrived (or there was none): completes `ex.out`.
  void finish(exchange& ex);
  /// The connection broke mid-body: releases what the exchange held.
  void abort(exchange& ex) noexcept;

  storage& store() noexcept { return *store_; }
  /// `address:port` of the listening socket, for token realms when
  /// `registry_options::token_realm` is empty.
  void set_default_host(std::string host) { default_host_ = std::move(host); }

 private:
  // dispatcher.cpp
  bool authorize(exchange& ex, const boost::urls::params_view& params);
  void handle(exchange& ex, const boost::urls::params_view& params);
  /// Upload cut: releases the session and asks for no response.
  void drop_request(exchange& ex);
  std::string realm(const exchange& ex) const;
  // token_endpoint.cpp
  void handle_token_get(exchange& ex, const boost::urls::params_view& params);
  void finish_token_post(exchange& ex);
  void token_reply(exchange& ex, const std::vector<scope>& granted, bool with_refresh,
                   const std::string& user);
  // manifests.cpp
  void handle_manifest(exchange& ex, const boost::urls::params_view& params);
  void finish_manifest_put(exchange& ex);
  // blobs.cpp
  void handle_blob(exchange& ex);
  // uploads.cpp
  void handle_upload_start(exchange& ex, const boost::urls::params_view& params);
  void handle_upload(exchange& ex, const boost::urls::params_view& params);
  void finish_upload(exchange& ex);
  /// 429 TOOMANYREQUESTS naming the limit.
  void refuse_upload(exchange& ex, upload_limit which);
  // listings.cpp
  void handle_list(exchange& ex, const boost::urls::params_view& params);
  void handle_referrers(exchange& ex, const boost::urls::params_view& params);
  // upstream.cpp (only with registry_options::upstream)
  friend struct upstream_pending;
  /// GET /metrics; true when answered.
  bool handle_metrics(exchange& ex, std::string_view path);
  /// Writes refused, listings passed through; true when `ex.out` is decided.
  bool handle_upstream(exchange& ex, const boost::urls::params_view& params);
  /// A manifest or blob read that the upstream must answer (absent, or a
  /// stale tag): sets `ex.out.later`, true. False: serve from the storage.
  bool manifest_from_upstream(exchange& ex, bool by_digest);
  bool blob_from_upstream(exchange& ex, const digest& d);
  /// A blob's headers and range for a body of `size` bytes; false when the
  /// reply is final without a body (416).
  bool blob_reply(exchange& ex, const digest& d, std::uint64_t size);

  registry_options options_;
  upload_limits limits_;
  std::shared_ptr<storage> store_;
  hooks& hooks_;
  token_store tokens_;
  std::string default_host_;
  std::shared_ptr<upstream> upstream_;
  std::shared_ptr<content_sink> sink_;
};

/// The storage as a pull-through cache's `content_sink` (upstream.cpp).
std::shared_ptr<content_sink> make_storage_sink(std::shared_ptr<storage> store);

/// Sets `out` to the spec's JSON error for `code`.
void set_error(reply& out, registry_errc code, std::string_view detail = {}, unsigned status = 0);

// ---- shared by the dispatcher's files ----

inline constexpr std::string_view json_type = "application/json; charset=utf-8";

/// Sets `out` to `status` with a body of `type`.
void set_text(reply& out, unsigned status, std::string text,
              std::string_view type = "text/plain; charset=utf-8");

/// The value of query parameter `key`, nullopt when absent.
std::optional<std::string> param(const boost::urls::params_view& ps, std::string_view key);

inline bool is_read(verb v) noexcept { return v == verb::get || v == verb::head; }

/// `/v2/<name>/blobs/<digest>`
std::string blob_location(std::string_view name, const digest& d);

}  // namespace coras::server::detail

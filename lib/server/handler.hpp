// The registry's request handling without sockets: a request head goes in,
// the dispatcher says whether it wants the body (and where it goes), and a
// `reply` comes out for the I/O layer (registry.cpp) to write. Test hooks
// (counters, request log, faults) live here too, shared with the public
// `registry` object.
#pragma once

#include "server/auth.hpp"
#include "server/protocol.hpp"
#include "server/storage.hpp"

#include <coras/server/registry.hpp>

#include <boost/url/params_view.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server::detail {

enum class verb { get, head, post, put, patch, delete_, other };

/// What the dispatcher needs of a request head. The views point into the
/// parser's header, which outlives the exchange.
struct request_head {
  verb method = verb::other;
  std::string_view method_name;  // as sent, e.g. "GET"
  std::string_view target;
  std::string_view host;
  std::string_view authorization;
  std::string_view content_type;
  std::string_view content_range;
  std::string_view range;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool tls = false;

  bool has_body() const noexcept { return chunked || (content_length && *content_length > 0); }
};

struct header {
  std::string_view name;  // always a literal
  std::string value;
};

/// A response, written by registry.cpp. The body is `text`, or `length` bytes
/// at `offset` of `memory` or of `file`.
struct reply {
  unsigned status = 200;
  std::vector<header> headers;
  std::string text;
  std::shared_ptr<const std::string> memory;
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool head_only = false;  // HEAD: announce the body's length, send no body
  bool close = false;      // close the connection after this response
  bool drop = false;       // send nothing, close the connection (an upload cut, fault f)

  // Faults chosen for this response.
  std::chrono::milliseconds delay{0};  // before the headers
  std::chrono::milliseconds stall{0};  // after half the body (blob bodies)
  std::optional<std::uint64_t> cut_after;
  // Header names and values of a header fault are arbitrary, unlike `headers`'
  // literal names: the I/O layer applies the fault while rendering the head.
  std::optional<header_fault> header_edits;

  bool has_blob_body() const noexcept { return memory || !file.empty(); }
  std::uint64_t body_size() const noexcept { return has_blob_body() ? length : text.size(); }
  void set(std::string_view name, std::string value) {
    headers.push_back({name, std::move(value)});
  }
};

/// Counters, request log and pending faults. Counters are atomics; the rest
/// sits behind a mutex, so test code may poke it from any thread.
class hooks {
 public:
  explicit hooks(std::size_t log_capacity) : log_capacity_(log_capacity) {}

  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> handshakes{0};
  std::atomic<std::uint64_t> requests{0};

  void record(request_record r);
  std::vector<request_record> log() const;
  void clear_log();

  void cut_blob_gets(std::deque<std::uint64_t> offsets);
  void set_status_fault(status_fault f);
  void set_delay_fault(delay_fault f);
  void set_redirect(std::string base_url);
  void set_header_fault(header_fault f);
  void cut_uploads(std::deque<std::uint64_t> offsets);
  void clear_faults();

  std::optional<status_fault> take_status_fault(std::string_view path);
  std::optional<delay_fault> take_delay_fault(std::string_view path);
  std::optional<header_fault> take_header_fault(std::string_view path, std::string_view method);
  std::optional<std::uint64_t> take_cut();
  std::optional<std::uint64_t> take_upload_cut();
  std::string redirect_base() const;

 private:
  mutable std::mutex mutex_;
  std::size_t log_capacity_;
  std::deque<request_record> log_;
  std::deque<std::uint64_t> cuts_;
  std::deque<std::uint64_t> upload_cuts_;
  std::optional<status_fault> status_;
  std::optional<delay_fault> delay_;
  std::optional<header_fault> header_;
  std::string redirect_;
};

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
  // Upload cut (fault f): this request's body is cut after this many bytes.
  std::optional<std::uint64_t> cut_after;
  std::uint64_t received = 0;  // body bytes appended to `session` by this request
  std::string token_grant;     // token POST: the form is parsed in finish()
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
  /// `address:port` for token realms when a request has no Host header.
  void set_default_host(std::string host) { default_host_ = std::move(host); }

 private:
  bool authorize(exchange& ex, const boost::urls::params_view& params);
  void handle(exchange& ex, const boost::urls::params_view& params);
  void handle_token_get(exchange& ex, const boost::urls::params_view& params);
  void finish_token_post(exchange& ex);
  void handle_manifest(exchange& ex);
  void finish_manifest_put(exchange& ex);
  void handle_blob(exchange& ex);
  void handle_upload_start(exchange& ex, const boost::urls::params_view& params);
  void handle_upload(exchange& ex, const boost::urls::params_view& params);
  void finish_upload(exchange& ex);
  /// Upload cut (fault f): releases the session and asks for no response.
  void drop_request(exchange& ex);
  void handle_referrers(exchange& ex, const boost::urls::params_view& params);
  void handle_list(exchange& ex, const boost::urls::params_view& params);
  void token_reply(exchange& ex, const std::vector<scope>& granted, bool with_refresh,
                   const std::string& user);
  std::string realm(const exchange& ex) const;

  registry_options options_;
  std::shared_ptr<storage> store_;
  hooks& hooks_;
  token_store tokens_;
  std::string default_host_;
};

/// Sets `ex.out` to the spec's JSON error for `code`.
void set_error(reply& out, registry_errc code, std::string_view detail = {}, unsigned status = 0);

}  // namespace coras::server::detail

// The HTTP/1.1 engine: connection pool, TLS, proxies, the request/response
// exchange, redirects and retries. The only translation unit of the client
// that instantiates Beast.
#include "client_impl.hpp"

#include "authorizer.hpp"
#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "protocol.hpp"
#include "response_limits.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <cstdlib>
#include <deque>
#include <map>
#include <variant>

#include <sys/socket.h>

namespace coras::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
using detail::origin;
using std::chrono::steady_clock;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(use_awaitable);
constexpr std::size_t io_chunk = 64 * 1024;

using plain_stream = beast::tcp_stream;
using tls_stream = ssl::stream<beast::tcp_stream>;

[[noreturn]] void throw_timeout(std::string_view what, std::chrono::milliseconds limit) {
  throw error(errc::timeout,
              std::string(what) + " timed out after " + std::to_string(limit.count()) + " ms");
}

// Rethrows I/O errors, turning Beast's stream timeout into errc::timeout.
void check(const error_code& ec, std::string_view what, std::chrono::milliseconds limit) {
  if (!ec) return;
  if (ec == beast::error::timeout) throw_timeout(what, limit);
  // coras::error, not system_error: its what() is the sentence alone, so
  // rethrowing it with more context does not repeat the code's text.
  throw error(ec, std::string(what) + ": " + ec.message());
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

// One connection to an origin (through a proxy or not).
struct connection {
  origin key;
  std::variant<plain_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  steady_clock::time_point idle_since;
  bool absolute_form = false;  // plain HTTP through a proxy: request targets are full URLs
  // With absolute_form: the proxy's Proxy-Authorization (from the proxy URL's
  // userinfo), sent on each request to the proxy; empty otherwise.
  std::string proxy_authorization;
  std::string session_key;  // key.str(): TLS sessions are cached per origin

  // Beast reads as much as the buffer's free capacity (at least 512 bytes):
  // a buffer left at its small first size turns a blob body into 512-byte
  // reads (262,144 recvmsg calls for 128 MiB). 64 KiB per read instead.
  static constexpr std::size_t read_buffer = 64 * 1024;

  connection(origin k, plain_stream s)
      : key(std::move(k)), stream(std::move(s)), session_key(key.str()) {
    buffer.reserve(read_buffer);
  }
  connection(origin k, tls_stream s)
      : key(std::move(k)), stream(std::move(s)), session_key(key.str()) {
    buffer.reserve(read_buffer);
  }

  beast::tcp_stream& lowest() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }
  // `clean`: the connection did nothing wrong (idle expiry, peer closed it
  // between requests). OpenSSL voids the TLS session of a connection freed
  // without a shutdown; marking it shut down keeps the session resumable.
  void close(bool clean = false) {
    if (auto* tls = std::get_if<tls_stream>(&stream); tls && clean)
      SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    error_code ignored;
    lowest().socket().close(ignored);
  }
  // A pooled connection the server has closed (or sent unexpected bytes on)
  // must not be used: peek without blocking.
  bool looks_alive() {
    auto& sock = lowest().socket();
    if (!sock.is_open()) return false;
    if (buffer.size() != 0) return false;
    char c;
    ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

struct waiter {
  asio::steady_timer timer;
  std::unique_ptr<connection> handed;  // a released connection given directly
  bool slot = false;                   // permission to open a new connection
  explicit waiter(const asio::any_io_executor& ex) : timer(ex, steady_clock::time_point::max()) {}
};

struct origin_pool {
  std::vector<std::unique_ptr<connection>> idle;  // most recently used at the back
  std::size_t busy = 0;                           // checked out or being opened
  std::deque<waiter*> waiters;
};

struct client_impl::state {
  ssl::context tls{ssl::context::tls_client};
  detail::proxy_settings proxy;
  std::map<std::string, origin_pool> pools;
  std::map<std::string, SSL_SESSION*> sessions;  // for resumption, by origin
  std::atomic<std::uint64_t> connections_opened{0}, tls_handshakes{0}, tls_resumed{0}, requests{0},
      connections_reused{0};

  ~state() {
    for (auto& [k, s] : sessions) SSL_SESSION_free(s);
  }
};

namespace {

// Index of the SSL ex_data slot that holds the origin key string.
int session_key_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int session_owner_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL hands every new session (TLS 1.3 tickets arrive after the handshake)
// to this callback; keep the newest per origin for the next connection.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, session_key_index()));
  auto* st = static_cast<client_impl::state*>(SSL_get_ex_data(ssl, session_owner_index()));
  if (!key || !st) return 0;
  auto& slot = st->sessions[*key];
  if (slot) SSL_SESSION_free(slot);
  slot = session;
  return 1;  // we keep the reference
}

// Checks out a connection for `o`, or the right to open one (nullptr).
class pool_lease {
 public:
  pool_lease(client_impl::state& st, const std::string& key, std::size_t limit)
      : st_(&st), key_(key), limit_(limit) {}
  pool_lease(const pool_lease&) = delete;
  ~pool_lease() { release(false); }

  asio::awaitable<void> acquire(steady_clock::duration idle_limit) {
    auto& pool = st_->pools[key_];
    auto now = steady_clock::now();
    while (!pool.idle.empty()) {
      auto c = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (now - c->idle_since < idle_limit && c->looks_alive()) {
        conn = std::move(c);
        reused = true;
        ++pool.busy;
        counted_ = true;
        co_return;
      }
      c->close(true);
    }
    if (pool.busy < limit_) {
      ++pool.busy;
      counted_ = true;
      co_return;
    }
    waiter w(co_await asio::this_coro::executor);
    pool.waiters.push_back(&w);
    auto [ec] = co_await w.timer.async_wait(tuple_awaitable);
    // The pool may have been re-hashed but `pool` stays valid: std::map nodes are stable.
    if (w.handed || w.slot) {
      counted_ = true;
      if (w.handed) {
        conn = std::move(w.handed);
        reused = true;
      }
      co_return;
    }
    std::erase(pool.waiters, &w);
    throw boost::system::system_error(ec ? ec : asio::error::operation_aborted,
                                      "waiting for a connection");
  }

  // Returns the connection (kept alive when `reusable`) and frees the slot.
  void release(bool reusable) {
    if (!counted_) return;
    counted_ = false;
    auto& pool = st_->pools[key_];
    if (conn && reusable) {
      conn->idle_since = steady_clock::now();
      if (!pool.waiters.empty()) {
        auto* w = pool.waiters.front();
        pool.waiters.pop_front();
        w->handed = std::move(conn);
        w->timer.cancel();
        return;
      }
      pool.idle.push_back(std::move(conn));
      --pool.busy;
      return;
    }
    if (conn) conn->close();
    conn.reset();
    if (!pool.waiters.empty()) {
      auto* w = pool.waiters.front();
      pool.waiters.pop_front();
      w->slot = true;
      w->timer.cancel();
      return;
    }
    --pool.busy;
  }

  std::unique_ptr<connection> conn;
  bool reused = false;

 private:
  client_impl::state* st_;
  std::string key_;
  std::size_t limit_;
  bool counted_ = false;
};

}  // namespace

// ---------------------------------------------------------------- response

struct response_impl::state {
  std::shared_ptr<client_impl> client;
  std::unique_ptr<pool_lease> lease;
  bhttp::response_parser<bhttp::buffer_body> parser;
  request_event event;
  steady_clock::time_point started;
  bool finished = false;

  ~state() {
    if (!finished) finish(asio::error::operation_aborted);
  }

  connection& conn() { return *lease->conn; }

  // Ends the exchange: the connection goes back to the pool only when the
  // body was read to its end and both sides allow keep-alive.
  void finish(error_code ec) {
    if (finished) return;
    finished = true;
    bool reusable = !ec && parser.is_done() && parser.get().keep_alive();
    event.error = ec;
    event.duration = steady_clock::now() - started;
    // Pool state lives on the client's strand; a response may be dropped on
    // any thread, so the release goes there (inline when already on it).
    asio::dispatch(client->strand(),
                   [c = client, l = std::move(lease), reusable, e = std::move(event)] {
                     if (l) l->release(reusable);
                     if (c->options().on_request) c->options().on_request(e);
                   });
  }
};

response_impl::response_impl(std::unique_ptr<state> s) : state_(std::move(s)) {}
response_impl::~response_impl() = default;

const client_impl::strand_type& response_impl::strand() const noexcept {
  return state_->client->strand();
}

bool response_impl::body_done() const noexcept {
  return state_->finished && state_->parser.is_done();
}

asio::awaitable<std::size_t> response_impl::read_some(asio::mutable_buffer buffer) {
  auto& st = *state_;
  if (st.parser.is_done()) {
    st.finish({});
    throw boost::system::system_error(asio::error::eof);
  }
  if (st.finished)
    throw boost::system::system_error(asio::error::not_connected, "response body abandoned");
  if (buffer.size() == 0) co_return 0;
  auto limit = st.client->options().timeouts.body_idle;
  for (;;) {
    st.parser.get().body().data = buffer.data();
    st.parser.get().body().size = buffer.size();
    auto& conn = st.conn();
    conn.lowest().expires_after(limit);
    auto [ec, ignored] = co_await std::visit(
        [&](auto& s) { return bhttp::async_read_some(s, conn.buffer, st.parser, tuple_awaitable); },
        conn.stream);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      std::string what = "reading response body from " + conn.key.str();
      st.finish(ec);  // releases (closes) the connection: `conn` is gone after this
      check(ec, what, limit);
    }
    std::size_t n = buffer.size() - st.parser.get().body().size;
    st.event.response_body_bytes += n;
    if (st.parser.is_done()) st.finish({});
    if (n > 0 || st.parser.is_done()) co_return n;
  }
}

asio::awaitable<std::string> response_impl::read_all(std::uint64_t limit) {
  if (content_length_ && *content_length_ > limit)
    throw error(errc::size_limit_exceeded,
                "response from " + url_ + " has " + std::to_string(*content_length_) +
                    " bytes, more than the limit of " + std::to_string(limit));
  // Exactly the announced size when there is one; otherwise grow from 4 KiB
  // (zero-filling a 64 KiB buffer per small answer costs more than the I/O).
  std::string out;
  std::size_t capacity = content_length_ ? static_cast<std::size_t>(*content_length_) : 4096;
  while (!state_->parser.is_done()) {
    std::size_t old = out.size();
    if (old == capacity) capacity *= 2;
    // One byte past the limit tells "exactly at the limit" from "over it".
    std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::max<std::size_t>(capacity - old, 1), limit + 1 - old));
    out.resize(old + room);
    std::size_t n = co_await read_some(asio::buffer(out.data() + old, room));
    out.resize(old + n);
    if (out.size() > limit) {
      state_->finish(make_error_code(errc::size_limit_exceeded));
      throw error(errc::size_limit_exceeded, "response from " + url_ +
                                                 " is larger than the limit of " +
                                                 std::to_string(limit) + " bytes");
    }
  }
  state_->finish({});
  co_return out;
}

asio::awaitable<void> response_impl::discard() {
  constexpr std::uint64_t max_drain = 64 * 1024;
  if (state_->parser.is_done()) {
    state_->finish({});
    co_return;
  }
  if (content_length_ && *content_length_ > max_drain) {
    state_->finish(asio::error::operation_aborted);
    co_return;
  }
  std::string scratch(io_chunk, '\0');
  std::uint64_t drained = 0;
  while (!state_->parser.is_done() && drained <= max_drain) {
    auto [ep, n] = co_await asio::co_spawn(co_await asio::this_coro::executor,
                                           read_some(asio::buffer(scratch)), tuple_awaitable);
    if (ep) break;
    drained += n;
  }
  state_->finish(state_->parser.is_done() ? error_code() : asio::error::operation_aborted);
}

response::response() noexcept = default;
response::response(std::unique_ptr<response_impl> impl) noexcept : impl_(std::move(impl)) {}
response::response(response&&) noexcept = default;
response& response::operator=(response&&) noexcept = default;
response::~response() = default;

namespace {
const http::fields empty_fields;
const std::string empty_string;
}  // namespace

unsigned response::status() const noexcept { return impl_ ? impl_->status() : 0; }
const http::fields& response::headers() const noexcept {
  return impl_ ? impl_->headers() : empty_fields;
}
const std::string& response::url() const noexcept { return impl_ ? impl_->url() : empty_string; }
std::optional<std::uint64_t> response::content_length() const noexcept {
  return impl_ ? impl_->content_length() : std::nullopt;
}
bool response::body_done() const noexcept { return !impl_ || impl_->body_done(); }

// ---------------------------------------------------------------- client

namespace {

void load_tls(ssl::context& ctx, const tls_options& o) {
  try {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (o.use_system_trust) ctx.set_default_verify_paths();
    if (!o.ca_file.empty()) ctx.load_verify_file(o.ca_file);
    if (!o.client_cert_file.empty() || !o.client_key_file.empty()) {
      ctx.use_certificate_chain_file(o.client_cert_file);
      ctx.use_private_key_file(o.client_key_file, ssl::context::pem);
    }
    ctx.set_verify_mode(o.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
  } catch (const boost::system::system_error& e) {
    throw error(e.code(), std::string("loading TLS settings: ") + e.what());
  }
  SSL_CTX_set_session_cache_mode(ctx.native_handle(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.native_handle(), on_new_session);
}

void check_proxy(const std::string& p, const char* what) {
  if (p.empty()) return;
  std::string why;
  if (!detail::parse_proxy(p, &why))
    throw error(errc::unsupported,
                std::string(what) + " \"" + strip_credentials(p) +
                    "\" is not supported (an http:// proxy, with or without user:password@, is)" +
                    (why.empty() ? "" : ": " + why));
}

}  // namespace

client_impl::client_impl(asio::any_io_executor ex, client_options options)
    : strand_(asio::make_strand(ex)),
      options_(std::move(options)),
      state_(std::make_unique<state>()) {
  if (options_.max_connections_per_origin == 0) options_.max_connections_per_origin = 1;
  load_tls(state_->tls, options_.tls);
  state_->proxy = detail::resolve_proxy_settings([](const char* n) { return std::getenv(n); },
                                                 options_.proxy, options_.no_proxy);
  check_proxy(state_->proxy.http_proxy, "HTTP proxy");
  check_proxy(state_->proxy.https_proxy, "HTTPS proxy");
}

client_impl::~client_impl() = default;

client_stats client_impl::stats() const {
  client_stats s;
  s.connections_opened = state_->connections_opened;
  s.tls_handshakes = state_->tls_handshakes;
  s.tls_resumed = state_->tls_resumed;
  s.requests = state_->requests;
  s.connections_reused = state_->connections_reused;
  if (options_.auth) s.tokens_fetched = options_.auth->tokens_fetched();
  return s;
}

namespace {

// Resolves and connects, each bounded by the connect timeout.
asio::awaitable<plain_stream> connect_tcp(const origin& to, std::chrono::milliseconds limit) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, limit);
  bool timed_out = false;
  timer.async_wait([&resolver, &timed_out](error_code ec) {
    if (ec) return;  // cancelled: the frame (and resolver) may be gone; touch nothing
    timed_out = true;
    resolver.cancel();
  });
  auto [rec, endpoints] =
      co_await resolver.async_resolve(to.host, std::to_string(to.port), tuple_awaitable);
  timer.cancel();
  if (timed_out) throw_timeout("resolving " + to.host, limit);
  check(rec, "resolving " + to.host, limit);
  plain_stream s(ex);
  s.expires_after(limit);
  auto [cec, ep] = co_await s.async_connect(endpoints, tuple_awaitable);
  check(cec, "connecting to " + to.str(), limit);
  s.socket().set_option(tcp::no_delay(true));
  co_return s;
}

// Asks an HTTP proxy for a tunnel to `target` (for https through a proxy).
asio::awaitable<void> open_tunnel(plain_stream& s, const origin& target,
                                  const std::string& proxy_authorization,
                                  std::chrono::milliseconds limit) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::connect,
                                        target.host.find(':') != std::string::npos
                                            ? "[" + target.host + "]:" + std::to_string(target.port)
                                            : target.host + ":" + std::to_string(target.port),
                                        11};
  req.set(bhttp::field::host, req.target());
  // To the proxy only: what goes through the tunnel is the origin's TLS.
  if (!proxy_authorization.empty()) req.set(bhttp::field::proxy_authorization, proxy_authorization);
  s.expires_after(limit);
  auto [wec, wn] = co_await bhttp::async_write(s, req, tuple_awaitable);
  check(wec, "sending CONNECT to the proxy", limit);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);  // a 2xx answer to CONNECT has no body
  auto [rec, rn] = co_await bhttp::async_read_header(s, buf, parser, tuple_awaitable);
  check(rec, "reading the proxy's CONNECT answer", limit);
  if (parser.get().result_int() / 100 != 2)
    throw error(errc::invalid_response, "proxy refused CONNECT to " + target.authority() + ": " +
                                            std::to_string(parser.get().result_int()));
}

}  // namespace

namespace {

asio::awaitable<std::unique_ptr<connection>> open_connection(client_impl& c, const origin& to) {
  auto& st = c.st();
  const auto& t = c.options().timeouts;
  auto proxy = detail::proxy_route_for(st.proxy, to);
  plain_stream tcp_s = co_await connect_tcp(proxy ? proxy->where : to, t.connect);
  ++st.connections_opened;
  if (!to.tls()) {
    auto conn = std::make_unique<connection>(to, std::move(tcp_s));
    conn->absolute_form = proxy.has_value();
    if (proxy) conn->proxy_authorization = proxy->authorization;
    co_return conn;
  }
  if (proxy) co_await open_tunnel(tcp_s, to, proxy->authorization, t.tls_handshake);

  tls_stream s(std::move(tcp_s), st.tls);
  SSL* ssl = s.native_handle();
  // SNI is for names only (RFC 6066); IP literals are checked as IPs.
  bool ip = is_ip_literal(to.host);
  if (!ip) SSL_set_tlsext_host_name(ssl, to.host.c_str());
  if (!c.options().tls.insecure_skip_verify) {
    auto* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, to.host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, to.host.c_str(), to.host.size());
    if (ok != 1) throw error(errc::invalid_response, "cannot set TLS verification for " + to.host);
  }
  auto conn = std::make_unique<connection>(to, std::move(s));
  auto& tls = std::get<tls_stream>(conn->stream);
  ssl = tls.native_handle();
  // The connection owns its SSL object, so its key outlives every callback.
  SSL_set_ex_data(ssl, session_key_index(), &conn->session_key);
  SSL_set_ex_data(ssl, session_owner_index(), &st);
  if (auto it = st.sessions.find(to.str()); it != st.sessions.end())
    SSL_set_session(ssl, it->second);
  beast::get_lowest_layer(tls).expires_after(t.tls_handshake);
  auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, tuple_awaitable);
  check(hec, "TLS handshake with " + to.str(), t.tls_handshake);
  ++st.tls_handshakes;
  if (SSL_session_reused(ssl)) ++st.tls_resumed;
  co_return conn;
}

}  // namespace

// ---------------------------------------------------------------- exchange

namespace {
bool has_body_method(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH"; }
}  // namespace

using detail::connection_failure;

asio::awaitable<response> detail::exchange(client_impl& c, const origin& to,
                                           const std::string& target, const std::string& url,
                                           const std::string& method, const fields& headers,
                                           byte_source* body) {
  auto& st = c.st();
  const auto& opt = c.options();
  auto rs = std::make_unique<response_impl::state>();
  rs->client = c.shared_from_this();
  rs->started = steady_clock::now();
  rs->event.method = method;
  rs->event.url = strip_credentials(url);
  rs->finished = true;  // nothing to report until a connection is in hand
  ++st.requests;

  rs->lease = std::make_unique<pool_lease>(st, to.str(), opt.max_connections_per_origin);
  co_await rs->lease->acquire(opt.timeouts.pool_idle);
  rs->finished = false;
  try {
    if (!rs->lease->conn) {
      rs->lease->conn = co_await open_connection(c, to);
    } else {
      ++st.connections_reused;
    }
  } catch (const boost::system::system_error& e) {
    rs->finish(e.code());
    // TLS failures (an untrusted certificate, a plain-HTTP server) would fail
    // the same way again: not retried, like timeouts and cancellation.
    if (e.code() == errc::timeout || e.code() == asio::error::operation_aborted ||
        e.code().category() == asio::error::get_ssl_category())
      throw;
    throw connection_failure(e.code(), e.what());
  }
  rs->event.connection_reused = rs->lease->reused;
  auto& conn = *rs->lease->conn;

  bhttp::request<bhttp::buffer_body> req;
  req.method_string(method);
  req.target(conn.absolute_form ? url : target);
  req.version(11);
  req.set(bhttp::field::host, to.authority());
  for (const auto& f : headers) req.insert(f.name, f.value);
  if (!headers.contains("User-Agent")) req.set(bhttp::field::user_agent, opt.user_agent);
  // Only on a connection to a proxy (absolute form), never to an origin.
  if (conn.absolute_form && !conn.proxy_authorization.empty())
    req.set(bhttp::field::proxy_authorization, conn.proxy_authorization);
  std::optional<std::uint64_t> size = body ? body->size() : std::optional<std::uint64_t>(0);
  if (body && !size) {
    req.chunked(true);
  } else if (body || has_body_method(method)) {
    req.content_length(*size);
  }
  req.body().data = nullptr;
  req.body().more = body != nullptr;

  const auto& t = opt.timeouts;
  bool response_started = false;
  try {
    bhttp::request_serializer<bhttp::buffer_body> sr{req};
    conn.lowest().expires_after(t.body_idle);
    auto [hec, hn] = co_await std::visit(
        [&](auto& s) { return bhttp::async_write_header(s, sr, tuple_awaitable); }, conn.stream);
    check(hec, "sending request to " + to.str(), t.body_idle);
    // Writes what req.body() points at; need_buffer only means "give me more".
    auto write_body = [&]() -> asio::awaitable<void> {
      conn.lowest().expires_after(t.body_idle);
      auto [wec, wn] = co_await std::visit(
          [&](auto& s) { return bhttp::async_write(s, sr, tuple_awaitable); }, conn.stream);
      if (wec == bhttp::error::need_buffer) wec = {};
      check(wec, "sending request body to " + to.str(), t.body_idle);
    };
    if (body) {
      if (auto whole = body->contiguous()) {
        // In memory already: sent from there, no copy.
        req.body().data = const_cast<void*>(whole->data());  // Beast only reads it
        req.body().size = whole->size();
        req.body().more = false;
        rs->event.request_body_bytes = whole->size();
        co_await write_body();
      } else {
        // Sized to the body when it is small (a manifest), not zero-filled.
        std::size_t chunk_size = std::max<std::size_t>(
            static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk, size.value_or(io_chunk))),
            1);
        auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
        for (;;) {
          std::size_t n = co_await body->read(asio::buffer(chunk.get(), chunk_size));
          req.body().data = n ? chunk.get() : nullptr;
          req.body().size = n;
          req.body().more = n != 0;
          rs->event.request_body_bytes += n;
          co_await write_body();
          if (n == 0) break;
        }
      }
      if (size && rs->event.request_body_bytes != *size)
        throw error(errc::size_mismatch, "request body was " +
                                             std::to_string(rs->event.request_body_bytes) +
                                             " bytes, not the announced " + std::to_string(*size));
    }

    auto& parser = rs->parser;
    detail::limit_response_parser(parser, method == "HEAD");
    conn.lowest().expires_after(t.response_header);
    auto [rec, rn] = co_await std::visit(
        [&](auto& s) { return bhttp::async_read_header(s, conn.buffer, parser, tuple_awaitable); },
        conn.stream);
    response_started = rn > 0 || !rec;
    check(rec, "reading response header from " + to.str(), t.response_header);
  } catch (const boost::system::system_error& e) {
    rs->finish(e.code());
    // Timeouts are not retried: a stalled server would multiply the wait.
    if (!response_started && e.code() != errc::timeout && e.code() != errc::size_mismatch &&
        e.code() != asio::error::operation_aborted)
      throw connection_failure(e.code(), e.what());
    throw;
  }

  const auto& msg = rs->parser.get();
  unsigned status = msg.result_int();
  fields response_headers;
  for (const auto& f : msg) response_headers.add(f.name_string(), f.value());
  std::optional<std::uint64_t> length;
  if (method != "HEAD") {
    if (auto cl = rs->parser.content_length()) length = *cl;
  } else if (auto cl = response_headers.get("Content-Length")) {
    // A HEAD answer's Content-Length describes the GET body it stands for.
    std::uint64_t v = 0;
    auto r = std::from_chars(cl->data(), cl->data() + cl->size(), v);
    if (r.ec == std::errc() && r.ptr == cl->data() + cl->size()) length = v;
  }
  rs->event.status = status;
  if (rs->parser.is_done()) rs->finish({});

  auto impl = std::make_unique<response_impl>(std::move(rs));
  impl->status_ = status;
  impl->headers_ = std::move(response_headers);
  impl->url_ = url;
  impl->content_length_ = length;
  co_return response(std::move(impl));
}

}  // namespace coras::http

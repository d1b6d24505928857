// Opening a connection (connection.hpp): resolve and connect, a proxy's
// CONNECT tunnel, the TLS handshake with SNI, host verification and session
// resumption. One of the two translation units of the client that
// instantiate Beast (with exchange.cpp).
#include "connection.hpp"

#include "client_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

namespace coras::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

[[noreturn]] void throw_timeout(std::string_view what, std::chrono::milliseconds limit,
                                std::string_view option) {
  throw error(errc::timeout, std::string(what) + " timed out after " +
                                 std::to_string(limit.count()) +
                                 " ms (client_options::" + std::string(option) + ")");
}

void check(const error_code& ec, std::string_view what, std::chrono::milliseconds limit,
           std::string_view option) {
  if (!ec) return;
  if (ec == beast::error::timeout) throw_timeout(what, limit, option);
  // coras::error, not system_error: its what() is the sentence alone, so
  // rethrowing it with more context does not repeat the code's text.
  throw error(ec, std::string(what) + ": " + ec.message());
}

void connection::close(bool clean) {
  if (auto* tls = std::get_if<tls_stream>(&stream); tls && clean)
    SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  error_code ignored;
  lowest().socket().close(ignored);
}

bool connection::looks_alive() {
  auto& sock = lowest().socket();
  if (!sock.is_open()) return false;
  if (buffer.size() != 0) return false;
  char c;
  ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// The pool's view of a connection (pool.hpp).
void connection_deleter::operator()(connection* c) const noexcept { delete c; }
bool connection_looks_alive(connection& c) noexcept { return c.looks_alive(); }
void close_connection(connection& c, bool clean) noexcept { c.close(clean); }

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

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
  if (timed_out) throw_timeout("resolving " + to.host, limit, "timeouts.connect");
  check(rec, "resolving " + to.host, limit, "timeouts.connect");
  plain_stream s(ex);
  s.expires_after(limit);
  auto [cec, ep] = co_await s.async_connect(endpoints, tuple_awaitable);
  check(cec, "connecting to " + to.str(), limit, "timeouts.connect");
  s.expires_never();  // requests are timed by the client's io_deadlines
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
  check(wec, "sending CONNECT to the proxy", limit, "timeouts.tls_handshake");
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);  // a 2xx answer to CONNECT has no body
  auto [rec, rn] = co_await bhttp::async_read_header(s, buf, parser, tuple_awaitable);
  check(rec, "reading the proxy's CONNECT answer", limit, "timeouts.tls_handshake");
  s.expires_never();
  if (parser.get().result_int() / 100 != 2)
    throw error(errc::invalid_response, "proxy refused CONNECT to " + target.authority() + ": " +
                                            std::to_string(parser.get().result_int()));
}

}  // namespace

asio::awaitable<connection_ptr> open_connection(client_impl& c, const origin& to) {
  auto& st = c.st();
  const auto& t = c.options().timeouts;
  auto proxy = proxy_route_for(st.proxy, to);
  plain_stream tcp_s = co_await connect_tcp(proxy ? proxy->where : to, t.connect);
  ++st.connections_opened;
  if (!to.tls()) {
    connection_ptr conn(new connection(to, std::move(tcp_s)));
    conn->absolute_form = proxy.has_value();
    if (proxy) conn->proxy_authorization = proxy->authorization;
    co_return conn;
  }
  if (proxy) co_await open_tunnel(tcp_s, to, proxy->authorization, t.tls_handshake);

  tls_stream s(std::move(tcp_s), st.tls.context());
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
  connection_ptr conn(new connection(to, std::move(s)));
  auto& tls = std::get<tls_stream>(conn->stream);
  ssl = tls.native_handle();
  // The connection owns its SSL object, so its key outlives every callback.
  st.tls.resume(ssl, &conn->session_key);
  beast::get_lowest_layer(tls).expires_after(t.tls_handshake);
  auto [hec, ignored] = co_await tls.async_handshake(tuple_awaitable);
  check(hec, "TLS handshake with " + to.str(), t.tls_handshake, "timeouts.tls_handshake");
  beast::get_lowest_layer(tls).expires_never();
  ++st.tls_handshakes;
  if (SSL_session_reused(ssl)) ++st.tls_resumed;
  co_return conn;
}

}  // namespace coras::http::detail

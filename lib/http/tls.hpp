// The client's TLS context: trust, client certificate, protocol floor, and
// the cache of TLS sessions per origin that lets a new connection resume
// instead of a full handshake. Asio's SSL and OpenSSL, no Beast.
#pragma once

#include <coras/http/options.hpp>

#include <boost/asio/ssl/context.hpp>

#include <map>
#include <string>

namespace coras::http::detail {

class tls_context {
 public:
  tls_context() = default;
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  ~tls_context();

  /// Applies `o` (throws coras::error naming the file that failed) and turns
  /// on the client session cache.
  void load(const tls_options& o);

  /// The context for a new connection (call on the client's strand). The
  /// system's trust store is loaded on the first call, not by load(): reading
  /// it takes ~50 ms, which a client that never opens a TLS connection (a
  /// plain-HTTP registry, a CLI command against one) would pay at start.
  boost::asio::ssl::context& context();

  /// Prepares a new connection's `ssl` to resume the newest session of the
  /// origin `*key`, and to record the sessions the server sends under that
  /// key. `*key` must live as long as `ssl` (the connection owns both).
  void resume(SSL* ssl, std::string* key);

 private:
  friend int on_new_session(SSL* ssl, SSL_SESSION* session);

  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_client};
  std::map<std::string, SSL_SESSION*> sessions_;  // for resumption, by origin
  bool system_trust_pending_ = false;             // tls_options::use_system_trust, not yet loaded
};

}  // namespace coras::http::detail

// The client's TLS context and session cache (tls.hpp).
#include "tls.hpp"

#include <coras/core/error.hpp>

#include <openssl/ssl.h>

namespace coras::http::detail {
namespace ssl = boost::asio::ssl;

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

}  // namespace

// OpenSSL hands every new session (TLS 1.3 tickets arrive after the handshake)
// to this callback; keep the newest per origin for the next connection.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, session_key_index()));
  auto* owner = static_cast<tls_context*>(SSL_get_ex_data(ssl, session_owner_index()));
  if (!key || !owner) return 0;
  auto& slot = owner->sessions_[*key];
  if (slot) SSL_SESSION_free(slot);
  slot = session;
  return 1;  // we keep the reference
}

tls_context::~tls_context() {
  for (auto& [k, s] : sessions_) SSL_SESSION_free(s);
}

void tls_context::load(const tls_options& o) {
  auto& ctx = ctx_;
  try {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    system_trust_pending_ = o.use_system_trust;
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

boost::asio::ssl::context& tls_context::context() {
  if (system_trust_pending_) {
    system_trust_pending_ = false;
    boost::system::error_code ec;
    ctx_.set_default_verify_paths(ec);
    if (ec) throw error(ec, "loading TLS settings: the system's trust store: " + ec.message());
  }
  return ctx_;
}

void tls_context::resume(SSL* ssl, std::string* key) {
  SSL_set_ex_data(ssl, session_key_index(), key);
  SSL_set_ex_data(ssl, session_owner_index(), this);
  if (auto it = sessions_.find(*key); it != sessions_.end()) SSL_set_session(ssl, it->second);
}

}  // namespace coras::http::detail

// The client object: its options, TLS context and proxy settings checked
// once at construction, and its counters. The pool is in pool.cpp, opening
// connections in connection.cpp, one exchange in exchange.cpp, the send loop
// in send.cpp.
#include "client_impl.hpp"

#include "authorizer.hpp"
#include "client_state.hpp"
#include "detail/strand.hpp"
#include "protocol.hpp"

#include <coras/core/error.hpp>

#include <cstdlib>

namespace coras::http {
namespace asio = boost::asio;

namespace {

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
    // One thread runs the io_context: it serializes the client as a strand would.
    : strand_(options.single_threaded ? ex : coras::detail::make_strand(ex)),
      completion_strand_(strand_),
      options_(std::move(options)),
      state_(std::make_unique<state>(strand_)) {
  if (options_.max_connections_per_origin == 0) options_.max_connections_per_origin = 1;
  state_->tls.load(options_.tls);
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

}  // namespace coras::http

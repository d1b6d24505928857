// What a client_impl owns besides its options: the TLS context, the proxy
// settings, the connection pool and the counters behind client_stats.
#pragma once

#include "client_impl.hpp"
#include "deadlines.hpp"
#include "pool.hpp"
#include "protocol.hpp"
#include "tls.hpp"

#include <atomic>
#include <cstdint>

namespace coras::http {

struct client_impl::state {
  explicit state(const boost::asio::any_io_executor& strand) : deadlines(strand) {}

  // Declared before the pool: pooled connections' SSL objects use the
  // context, and their I/O deadlines its list, so they go first.
  detail::tls_context tls;
  detail::proxy_settings proxy;
  detail::io_deadlines deadlines;
  detail::connection_pool pool;
  std::atomic<std::uint64_t> connections_opened{0}, tls_handshakes{0}, tls_resumed{0}, requests{0},
      connections_reused{0};
};

}  // namespace coras::http

// One request on one pooled connection (exchange.cpp, with Beast), as the
// send loop (send.cpp) uses it.
#pragma once

#include "client_impl.hpp"
#include "protocol.hpp"

#include <coras/core/error.hpp>

namespace coras::http::detail {

/// A failure before any byte of the response arrived: the request may be
/// sent again (on another connection) when it is retryable.
struct connection_failure : error {
  connection_failure(error_code ec, const std::string& what, bool stale_connection = false)
      : error(ec, what), stale(stale_connection) {}
  /// On a pooled connection that had answered before: most likely the server
  /// closed it while it sat idle, which says nothing about the server's
  /// health (send_plain sends once more at once, without a retry's wait).
  bool stale;
};

/// Sends one request to `to` on a pooled or new connection and reads the
/// response header. `resent_on_failure`: a connection_failure of this
/// exchange would be sent again (then a connection back only just now is used
/// without the liveness peek; timeouts.pool_peek_after).
boost::asio::awaitable<response> exchange(client_impl& c, const origin& to,
                                          const std::string& target, const std::string& url,
                                          const std::string& method, const fields& headers,
                                          byte_source* body, bool resent_on_failure);

}  // namespace coras::http::detail

// A response the dispatcher cannot decide without waiting (an upstream fetch
// of a pull-through cache): `reply::later`. The I/O layer co_awaits
// `complete`, which sets `ex.out`, before it writes the response.
#pragma once

#include "server/handler.hpp"

#include <boost/asio/awaitable.hpp>

namespace coras::server::detail {

struct pending {
  virtual ~pending() = default;
  /// Decides `ex.out` (never leaves `later` set). Runs on the connection's
  /// strand; `ex` lives until it returns.
  virtual boost::asio::awaitable<void> complete(exchange& ex) = 0;
};

}  // namespace coras::server::detail

// The connection pool (pool.hpp). Beast-free: connections are opaque here.
#include "pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace coras::http::detail {
namespace asio = boost::asio;
using std::chrono::steady_clock;

struct pool_waiter {
  asio::steady_timer timer;
  connection_ptr handed;  // a released connection given directly
  bool slot = false;      // permission to open a new connection
  explicit pool_waiter(const asio::any_io_executor& ex)
      : timer(ex, steady_clock::time_point::max()) {}
};

origin_pool& connection_pool::at(std::string_view key) {
  if (auto it = origins.find(key); it != origins.end()) return it->second;
  return origins.try_emplace(std::string(key)).first->second;
}

bool pool_lease::try_acquire(const reuse_rules& rules) {
  auto& pool = *origin_;
  auto now = steady_clock::now();
  while (!pool.idle.empty()) {
    auto c = std::move(pool.idle.back());
    pool.idle.pop_back();
    const auto idle_for = now - c.since;
    // The peek is a system call a request: skipped for a connection back
    // only just now (a close racing it costs one resend at once; timeouts.pool_peek_after).
    const bool fresh = idle_for < rules.peek_after && !pool.peek_always;
    if (idle_for < rules.idle && (fresh || connection_looks_alive(*c.conn))) {
      conn = std::move(c.conn);
      reused = true;
      unchecked = fresh;
      ++pool.busy;
      counted_ = true;
      return true;
    }
    close_connection(*c.conn, true);
  }
  if (pool.busy < limit_) {
    ++pool.busy;
    counted_ = true;
    return true;
  }
  return false;
}

asio::awaitable<void> pool_lease::acquire(reuse_rules rules) {
  if (try_acquire(rules)) co_return;
  auto& pool = *origin_;
  pool_waiter w(co_await asio::this_coro::executor);
  pool.waiters.push_back(&w);
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (w.handed || w.slot) {
    counted_ = true;
    if (w.handed) {
      conn = std::move(w.handed);
      reused = true;
      unchecked = true;  // handed over as it was released: never peeked at
    }
    co_return;
  }
  std::erase(pool.waiters, &w);
  throw boost::system::system_error(ec ? ec : asio::error::operation_aborted,
                                    "waiting for a connection");
}

void pool_lease::release(bool reusable) {
  if (!counted_) return;
  counted_ = false;
  auto& pool = *origin_;
  if (conn && reusable) {
    if (!pool.waiters.empty()) {
      auto* w = pool.waiters.front();
      pool.waiters.pop_front();
      w->handed = std::move(conn);
      w->timer.cancel();
      return;
    }
    pool.idle.push_back({std::move(conn), steady_clock::now()});
    --pool.busy;
    return;
  }
  if (conn) close_connection(*conn, false);
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

}  // namespace coras::http::detail

#include "admission.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace coras::http::detail {
namespace asio = boost::asio;

admission::gate& admission::gate_for(std::string_view key) {
  auto it = gates_.find(key);
  if (it == gates_.end()) it = gates_.emplace(std::string(key), gate()).first;
  return it->second;
}

bool admission::try_enter(gate& g, std::size_t limit) noexcept {
  if (g.inside >= limit) return false;
  ++g.inside;
  return true;
}

bool admission::enter_or_queue(gate& g, std::size_t limit, waiter& w) {
  if (try_enter(g, limit)) return true;
  g.waiting.push_back(&w);
  return false;
}

void admission::withdraw(gate& g, waiter& w) noexcept {
  if (!w.admitted) std::erase(g.waiting, &w);
}

asio::awaitable<admission::ticket> admission::enter(gate& g, std::size_t limit) {
  waiter w(co_await asio::this_coro::executor);
  if (enter_or_queue(g, limit, w)) co_return ticket(this, &g);
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w.admitted) {
    withdraw(g, w);
    throw boost::system::system_error(ec ? ec : asio::error::operation_aborted, "waiting to send");
  }
  // The leaver handed its place over: `inside` already counts this one.
  co_return ticket(this, &g);
}

void admission::leave(gate& g) noexcept {
  if (!g.waiting.empty()) {
    auto* next = g.waiting.front();
    g.waiting.pop_front();
    next->admitted = true;
    next->timer.cancel();
  } else {
    --g.inside;
  }
}

}  // namespace coras::http::detail

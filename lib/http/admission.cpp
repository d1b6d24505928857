#include "admission.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace coras::http::detail {
namespace asio = boost::asio;

bool admission::enter_or_queue(const std::string& key, std::size_t limit, waiter& w) {
  auto& gate = gates_[key];
  if (gate.inside < limit) {
    ++gate.inside;
    return true;
  }
  gate.waiting.push_back(&w);
  return false;
}

void admission::withdraw(const std::string& key, waiter& w) noexcept {
  if (w.admitted) return;
  auto it = gates_.find(key);
  if (it != gates_.end()) std::erase(it->second.waiting, &w);
}

asio::awaitable<admission::ticket> admission::enter(std::string key, std::size_t limit) {
  waiter w(co_await asio::this_coro::executor);
  if (enter_or_queue(key, limit, w)) co_return ticket(this, std::move(key));
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w.admitted) {
    withdraw(key, w);
    throw boost::system::system_error(ec ? ec : asio::error::operation_aborted, "waiting to send");
  }
  // The leaver handed its place over: `inside` already counts this one.
  co_return ticket(this, std::move(key));
}

void admission::leave(const std::string& key) noexcept {
  auto& g = gates_[key];
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

// One timer for the I/O time limits of a client's connections (deadlines.hpp).
#include "deadlines.hpp"

#include "pool.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <cstdint>

namespace coras::http::detail {
namespace asio = boost::asio;
using std::chrono::steady_clock;

void io_deadline::unlink() noexcept {
  if (!next_) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

struct io_deadlines::core {
  explicit core(const asio::any_io_executor& strand) : timer(strand) {
    sentinel.prev_ = sentinel.next_ = &sentinel;
  }
  ~core() {
    // An entry left (a connection in a frame torn down with its io_context
    // after its client) must not unlink through this sentinel later.
    for (auto* d = sentinel.next_; d != &sentinel;) {
      auto* next = d->next_;
      d->prev_ = d->next_ = nullptr;
      d = next;
    }
    sentinel.prev_ = sentinel.next_ = nullptr;
  }

  asio::steady_timer timer;
  io_deadline sentinel{nullptr};
  // When the timer's wait ends; max() when none is under way.
  steady_clock::time_point wakes = steady_clock::time_point::max();
  // The wait under way: the handler of an older one (cancelled, or fired
  // just as it was replaced) does nothing.
  std::uint64_t wait_id = 0;
};

io_deadlines::io_deadlines(const asio::any_io_executor& strand)
    : core_(std::make_shared<core>(strand)) {}

io_deadlines::~io_deadlines() = default;

void io_deadlines::arm(io_deadline& d, std::chrono::milliseconds limit) {
  auto& c = *core_;
  d.at_ = steady_clock::now() + limit;
  d.expired_ = false;
  if (!d.linked()) {
    d.prev_ = c.sentinel.prev_;
    d.next_ = &c.sentinel;
    c.sentinel.prev_->next_ = &d;
    c.sentinel.prev_ = &d;
  }
  // Under load a wait is under way for an earlier deadline: nothing to do.
  if (d.at_ < c.wakes) wait_until(core_, d.at_);
}

boost::system::error_code io_deadlines::disarm(io_deadline& d,
                                               boost::system::error_code ec) noexcept {
  d.unlink();
  auto& c = *core_;
  // Nothing left to watch: the timer must not keep the io_context running.
  if (c.sentinel.next_ == &c.sentinel && c.wakes != steady_clock::time_point::max()) {
    c.wakes = steady_clock::time_point::max();
    ++c.wait_id;
    c.timer.cancel();
  }
  if (d.expired_) return boost::beast::error::timeout;
  return ec;
}

void io_deadlines::wait_until(const std::shared_ptr<core>& c, steady_clock::time_point at) {
  c->wakes = at;
  c->timer.expires_at(at);  // cancels the wait before it
  c->timer.async_wait(
      [weak = std::weak_ptr<core>(c), id = ++c->wait_id](boost::system::error_code ec) {
        if (ec) return;  // cancelled: the client may be gone, touch nothing
        auto c = weak.lock();
        if (c && c->wait_id == id) expire(c);
      });
}

// Closes every connection past its deadline (which ends its I/O with an
// error that disarm turns into the timeout), then waits for the earliest
// deadline left.
void io_deadlines::expire(const std::shared_ptr<core>& c) {
  c->wakes = steady_clock::time_point::max();
  const auto now = steady_clock::now();
  auto next = steady_clock::time_point::max();
  for (auto* d = c->sentinel.next_; d != &c->sentinel;) {
    auto* following = d->next_;
    if (d->at_ <= now) {
      d->expired_ = true;
      d->unlink();
      close_connection(*d->owner_, false);
    } else {
      next = std::min(next, d->at_);
    }
    d = following;
  }
  if (next != steady_clock::time_point::max()) wait_until(c, next);
}

}  // namespace coras::http::detail

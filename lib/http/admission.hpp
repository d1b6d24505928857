// Admission per origin: at most `limit` holders of a place for one key (an
// origin) at once; the rest wait in order. The HTTP client keeps two: one
// for requests (send.cpp: before the authorizer's and the exchange's frames
// exist) and one for repository operations (lib/remote/operation_start.hpp:
// before the operation's coroutine frames exist), so that many thousands of
// queued requests cost only a small waiter each (docs/http.md, "Queued
// requests"). Used on the client's strand only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace coras::http::detail {

class admission {
 public:
  /// One place in a queue. Its timer is cancelled when the waiter is given a
  /// place (`admitted` is then true: the gate already counts it, the owner
  /// makes its ticket) or when it is withdrawn.
  struct waiter {
    explicit waiter(const boost::asio::any_io_executor& ex)
        : timer(ex, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    bool admitted = false;
  };

  /// The places of one key: made on first use, never erased, so a reference
  /// to it stays valid as long as the admission does.
  struct gate {
    std::size_t inside = 0;
    std::deque<waiter*> waiting;
  };

  /// A place inside; leaving (destruction) hands it to the next waiter.
  class ticket {
   public:
    ticket(admission* a, gate* g) noexcept : owner_(a), gate_(g) {}
    ticket(ticket&& o) noexcept
        : owner_(std::exchange(o.owner_, nullptr)), gate_(std::exchange(o.gate_, nullptr)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (owner_) owner_->leave(*gate_);
    }

   private:
    admission* owner_;
    gate* gate_;
  };

  /// The gate of `key` (an origin).
  gate& gate_for(std::string_view key);

  /// Takes a place if one of `limit` is free (true: make the ticket now);
  /// else false, nothing queued.
  bool try_enter(gate& g, std::size_t limit) noexcept;
  /// Takes a place if one of `limit` is free (true: make the ticket now),
  /// else queues `w`, which must stay where it is until its timer's wait
  /// completes or it is withdrawn.
  bool enter_or_queue(gate& g, std::size_t limit, waiter& w);
  /// Takes a waiter that was not admitted out of the queue.
  void withdraw(gate& g, waiter& w) noexcept;

  /// Waits for a place among `limit`. Throws `operation_aborted` when the
  /// wait is cancelled.
  boost::asio::awaitable<ticket> enter(gate& g, std::size_t limit);

 private:
  void leave(gate& g) noexcept;

  // std::map: references stay valid; std::less<>: found by a string_view.
  std::map<std::string, gate, std::less<>> gates_;
};

}  // namespace coras::http::detail

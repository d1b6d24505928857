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
#include <map>
#include <string>
#include <utility>

namespace coras::http::detail {

class admission {
 public:
  /// A place inside; leaving (destruction) hands it to the next waiter.
  class ticket {
   public:
    ticket(admission* a, std::string key) noexcept : owner_(a), key_(std::move(key)) {}
    ticket(ticket&& o) noexcept
        : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (owner_) owner_->leave(key_);
    }

   private:
    admission* owner_;
    std::string key_;
  };

  /// One place in a queue. Its timer is cancelled when the waiter is given a
  /// place (`admitted` is then true: `inside` already counts it, the owner
  /// makes its ticket) or when it is withdrawn.
  struct waiter {
    explicit waiter(const boost::asio::any_io_executor& ex)
        : timer(ex, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    bool admitted = false;
  };

  /// Takes a place for `key` if one of `limit` is free (true: make the
  /// ticket now), else queues `w`, which must stay where it is until its
  /// timer's wait completes or it is withdrawn.
  bool enter_or_queue(const std::string& key, std::size_t limit, waiter& w);
  /// Takes a waiter that was not admitted out of the queue.
  void withdraw(const std::string& key, waiter& w) noexcept;

  /// Waits for a place among `limit` for `key`. Throws `operation_aborted`
  /// when the wait is cancelled.
  boost::asio::awaitable<ticket> enter(std::string key, std::size_t limit);

 private:
  struct gate {
    std::size_t inside = 0;
    std::deque<waiter*> waiting;
  };
  void leave(const std::string& key) noexcept;

  std::map<std::string, gate> gates_;  // std::map: references stay valid
};

}  // namespace coras::http::detail

// Admission to the client per origin: at most `limit` requests are inside at
// once; the rest wait here, in order, before the authorizer's and the
// exchange's frames exist, so that many thousands of queued requests cost
// only their callers' frames (docs/http.md, "Queued requests"). Used on the
// client's strand only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <deque>
#include <map>
#include <string>

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

  /// Waits for a place among `limit` for `key` (an origin). Throws
  /// `operation_aborted` when the wait is cancelled.
  boost::asio::awaitable<ticket> enter(std::string key, std::size_t limit);

 private:
  struct waiter;
  struct gate {
    std::size_t inside = 0;
    std::deque<waiter*> waiting;
  };
  void leave(const std::string& key) noexcept;

  std::map<std::string, gate> gates_;  // std::map: references stay valid
};

}  // namespace coras::http::detail

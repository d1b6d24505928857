// The time limits of a client's connection I/O (timeouts.response_header,
// timeouts.body_idle), kept by one timer per client instead of one per read
// and write. Beast's stream timeouts arm, cancel and complete a timer for
// every read and every write: two a manifest GET, with a handler allocation
// each (72.2k -> 65.1k instructions a GET without them). Here an I/O
// writes its deadline into its connection and links it into a list; one
// steady_timer, set for the earliest deadline only when a new one comes
// before it, closes the connection whose I/O outlived its limit. Under load
// the timer is almost never touched; with one request at a time it costs
// what Beast's did. Beast-free; used on the client's strand only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>

namespace coras::http::detail {

struct connection;

/// A connection's entry among those with I/O under way (a member of the
/// connection; it leaves the list when destroyed).
class io_deadline {
 public:
  /// `owner`: the connection closed when its limit runs out (null for the
  /// list's sentinel).
  explicit io_deadline(connection* owner) noexcept : owner_(owner) {}
  io_deadline(const io_deadline&) = delete;
  io_deadline& operator=(const io_deadline&) = delete;
  ~io_deadline() { unlink(); }

 private:
  friend class io_deadlines;
  bool linked() const noexcept { return next_ != nullptr; }
  void unlink() noexcept;

  connection* owner_;
  io_deadline* prev_ = nullptr;  // a circular list through io_deadlines' sentinel
  io_deadline* next_ = nullptr;
  std::chrono::steady_clock::time_point at_{};
  bool expired_ = false;
};

class io_deadlines {
 public:
  /// `strand`: the client's; the timer's handler runs there.
  explicit io_deadlines(const boost::asio::any_io_executor& strand);
  ~io_deadlines();
  io_deadlines(const io_deadlines&) = delete;
  io_deadlines& operator=(const io_deadlines&) = delete;

  /// Before an I/O on `d`'s connection: when it has not ended within
  /// `limit`, the connection is closed (which ends the I/O with an error).
  void arm(io_deadline& d, std::chrono::milliseconds limit);
  /// After that I/O, before anything else touches the connection: `ec` is
  /// its outcome, returned as it is, or as Beast's timeout error
  /// (boost::beast::error::timeout, what `check` names the limit for) when
  /// the limit ran out.
  boost::system::error_code disarm(io_deadline& d, boost::system::error_code ec = {}) noexcept;

 private:
  struct core;  // the list's sentinel and the timer (deadlines.cpp)
  static void wait_until(const std::shared_ptr<core>& c, std::chrono::steady_clock::time_point at);
  static void expire(const std::shared_ptr<core>& c);

  std::shared_ptr<core> core_;  // the timer's handler holds it weakly
};

}  // namespace coras::http::detail

// A one-shot event for coroutines on one strand: some wait, one finishes it
// (with or without an exception). Used where concurrent callers share one
// piece of work: a referrers ping, an index merge, a token fetch.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>

namespace coras::detail {

struct waitable {
  // A timer that never expires on its own: finish() cancels it to wake waiters.
  explicit waitable(const boost::asio::any_io_executor& ex)
      : timer(ex, boost::asio::steady_timer::time_point::max()) {}

  /// Returns once finished; rethrows the exception it was finished with.
  boost::asio::awaitable<void> wait() {
    while (!done) co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (error) std::rethrow_exception(error);
  }

  void finish(std::exception_ptr e) {
    error = std::move(e);
    done = true;
    timer.cancel();
  }

  boost::asio::steady_timer timer;
  bool done = false;
  std::exception_ptr error;
};

}  // namespace coras::detail

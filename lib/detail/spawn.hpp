// Runs a coroutine on an executor and completes a type-erased handler with
// `(error_code, T)`: the one place where exceptions from coras's coroutines
// become error codes for callback, future and `as_tuple` users.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/system/error_code.hpp>

#include <exception>

namespace coras::detail {

/// The error code an exception stands for (system_error → its code).
boost::system::error_code to_error_code(std::exception_ptr e) noexcept;

template <class Executor, class T>
void spawn(const Executor& ex, boost::asio::awaitable<T> op,
           boost::asio::any_completion_handler<void(boost::system::error_code, T)> handler) {
  // The caller's cancellation slot is bound to co_spawn's own handler, so
  // cancelling the caller's operation cancels the coroutine.
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  boost::asio::co_spawn(
      ex, std::move(op),
      boost::asio::bind_cancellation_slot(
          slot, [ex, h = std::move(handler)](std::exception_ptr e, T value) mutable {
            boost::system::error_code ec;
            if (e) ec = to_error_code(e);
            auto target = boost::asio::get_associated_executor(h, ex);
            boost::asio::dispatch(target, [h = std::move(h), ec, v = std::move(value)]() mutable {
              std::move(h)(ec, std::move(v));
            });
          }));
}

}  // namespace coras::detail

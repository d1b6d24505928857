// Runs a coroutine on an executor and completes a type-erased handler with
// `(error_code, T)` or `(error_code)`: the one place where exceptions from
// coras's coroutines become error codes (and diagnostics) for callback,
// future and `as_tuple` users.
#pragma once

#include <coras/core/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <utility>

namespace coras::detail {

/// The error code an exception stands for (system_error → its code).
boost::system::error_code to_error_code(std::exception_ptr e) noexcept;

/// Sets `diag` (when given) from `e`, and returns the error code of `e`.
inline boost::system::error_code settle(const std::exception_ptr& e, diagnostics* diag) {
  if (diag) diag->assign(e);
  return e ? to_error_code(e) : boost::system::error_code();
}

template <class Executor, class T>
void spawn(const Executor& ex, boost::asio::awaitable<T> op,
           boost::asio::any_completion_handler<void(boost::system::error_code, T)> handler,
           diagnostics* diag = nullptr) {
  // The caller's cancellation slot is bound to co_spawn's own handler, so
  // cancelling the caller's operation cancels the coroutine.
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  boost::asio::co_spawn(
      ex, std::move(op),
      boost::asio::bind_cancellation_slot(
          slot, [ex, diag, h = std::move(handler)](std::exception_ptr e, T value) mutable {
            auto ec = settle(e, diag);
            auto target = boost::asio::get_associated_executor(h, ex);
            boost::asio::dispatch(target, [h = std::move(h), ec, v = std::move(value)]() mutable {
              std::move(h)(ec, std::move(v));
            });
          }));
}

template <class Executor>
void spawn(const Executor& ex, boost::asio::awaitable<void> op,
           boost::asio::any_completion_handler<void(boost::system::error_code)> handler,
           diagnostics* diag = nullptr) {
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  boost::asio::co_spawn(ex, std::move(op),
                        boost::asio::bind_cancellation_slot(
                            slot, [ex, diag, h = std::move(handler)](std::exception_ptr e) mutable {
                              auto ec = settle(e, diag);
                              auto target = boost::asio::get_associated_executor(h, ex);
                              boost::asio::dispatch(
                                  target, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
                            }));
}

}  // namespace coras::detail

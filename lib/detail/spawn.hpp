// Runs a coroutine on an executor and completes a type-erased handler with
// `(error_code, T)` or `(error_code)`: the one place where exceptions from
// coras's coroutines become error codes (and diagnostics) for callback,
// future and `as_tuple` users.
#pragma once

#include "boxed.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
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

/// The completion signature of an operation whose coroutine returns `T`.
template <class T>
struct completion_of {
  using type = void(boost::system::error_code, unboxed_t<T>);
};
template <>
struct completion_of<void> {
  using type = void(boost::system::error_code);
};
template <class T>
using completion_t = typename completion_of<T>::type;

/// The executor `handler` completes on, with work tracked on it. Asio's
/// contract: an operation keeps its handler's executor busy until it
/// completes, so a caller's io_context with nothing else to do does not
/// return from run() while the operation runs on another one (and then
/// receive the completion destroyed, or never).
template <class Signature, class Executor>
boost::asio::any_completion_executor tracked_target(
    const boost::asio::any_completion_handler<Signature>& handler, const Executor& fallback) {
  return boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback),
                             boost::asio::execution::outstanding_work.tracked);
}

/// Runs `op` on `ex` and completes `handler` on `target` (its executor, from
/// tracked_target, which stays busy until then) with the error code and
/// value; cancelling through `slot` cancels the coroutine. `keep` lives
/// until the coroutine ended and is released (on `ex`) before the handler
/// is called: what must outlive the operation but not hold its caller up
/// (an admission ticket).
template <class Executor, class T, class Keep>
void spawn_keeping(const Executor& ex, boost::asio::awaitable<T> op,
                   boost::asio::any_completion_handler<completion_t<T>> handler,
                   boost::asio::any_completion_executor target, diagnostics* diag,
                   boost::asio::cancellation_slot slot, Keep keep) {
  auto done = [diag, h = std::move(handler), target = std::move(target), keep = std::move(keep)](
                  std::exception_ptr e, auto&&... value) mutable {
    auto ec = settle(e, diag);
    { [[maybe_unused]] auto released = std::move(keep); }
    boost::asio::dispatch(
        target, [h = std::move(h), ec, ... v = std::forward<decltype(value)>(value)]() mutable {
          std::move(h)(ec, unbox(std::move(v))...);
        });
  };
  boost::asio::co_spawn(ex, std::move(op),
                        boost::asio::bind_cancellation_slot(slot, std::move(done)));
}

/// spawn_keeping with the handler's own cancellation slot and nothing kept.
template <class Executor, class T>
void spawn(const Executor& ex, boost::asio::awaitable<T> op,
           boost::asio::any_completion_handler<completion_t<T>> handler,
           diagnostics* diag = nullptr) {
  // The caller's cancellation slot is bound to co_spawn's own handler, so
  // cancelling the caller's operation cancels the coroutine.
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  auto target = tracked_target(handler, ex);
  spawn_keeping(ex, std::move(op), std::move(handler), std::move(target), diag, slot, nullptr);
}

}  // namespace coras::detail

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
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>
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

/// The io_context of `ex` when it is that io_context's executor or a strand
/// of it (what an awaitable's handler and most callbacks complete on); else
/// null. Read from the target: a type-erased executor converted or
/// `prefer`red allocates.
inline const boost::asio::io_context* io_context_of(
    const boost::asio::any_completion_executor& ex) noexcept {
  using io_executor = boost::asio::io_context::executor_type;
  if (const auto* e = ex.target<io_executor>()) return &e->context();
  if (const auto* s = ex.target<boost::asio::strand<io_executor>>())
    return &s->get_inner_executor().context();
  return nullptr;
}

/// The executor `handler` completes on, with work tracked on it. Asio's
/// contract: an operation keeps its handler's executor busy until it
/// completes, so a caller's io_context with nothing else to do does not
/// return from run() while the operation runs on another one (and then
/// receive the completion destroyed, or never). When that is the io_context
/// the operation runs in (`own`), its own pending work keeps it busy: not
/// tracked again (which costs an allocation an operation).
template <class Signature, class Executor>
boost::asio::any_completion_executor tracked_target(
    const boost::asio::any_completion_handler<Signature>& handler, const Executor& fallback,
    const boost::asio::any_io_executor& own) {
  auto ex = boost::asio::get_associated_executor(handler, fallback);
  using boost::asio::execution::context_as;
  const boost::asio::execution_context* io = io_context_of(ex);
  if (io && io == &boost::asio::query(own, context_as<boost::asio::execution_context&>)) return ex;
  return boost::asio::prefer(std::move(ex), boost::asio::execution::outstanding_work.tracked);
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
  auto target = tracked_target(handler, ex, ex);
  spawn_keeping(ex, std::move(op), std::move(handler), std::move(target), diag, slot, nullptr);
}

}  // namespace coras::detail

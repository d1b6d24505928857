#include "detail/offload.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>

namespace coras::detail {

namespace asio = boost::asio;

asio::awaitable<void> offload(const std::optional<asio::any_io_executor>& pool,
                              std::function<void()> work) {
  if (!pool) {
    work();
    co_return;
  }
  // use_awaitable rethrows the exception_ptr in this coroutine.
  co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
      [](auto handler, asio::any_io_executor on, std::function<void()>* fn) {
        asio::post(on, [h = std::move(handler), fn]() mutable {
          std::exception_ptr e;
          try {
            (*fn)();
          } catch (...) {
            e = std::current_exception();
          }
          // Back to the caller's executor (its strand) to resume it. The
          // tracked work keeps the caller's io_context running until this
          // thread is out of that post: Asio signals the io_context's
          // thread after unlocking it, so without it the caller could
          // finish, return from run() and destroy the io_context while this
          // thread still signals it (a race ThreadSanitizer reports).
          auto home = asio::get_associated_executor(h);
          auto busy = asio::prefer(home, asio::execution::outstanding_work.tracked);
          asio::dispatch(home, [h = std::move(h), e]() mutable { std::move(h)(e); });
        });
      },
      asio::use_awaitable, *pool, &work);
}

}  // namespace coras::detail

#include "detail/offload.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
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
          // Back to the caller's executor (its strand) to resume it.
          auto home = asio::get_associated_executor(h);
          asio::dispatch(home, [h = std::move(h), e]() mutable { std::move(h)(e); });
        });
      },
      asio::use_awaitable, *pool, &work);
}

}  // namespace coras::detail

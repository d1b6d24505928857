// Runs a test body against the embedded registry, in-process.
#pragma once

#include <coras/server/registry.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>

namespace coras::test {

/// Runs `body(executor, server)` (a coroutine) with a started registry on a
/// fresh io_context; the registry stops when the body ends, however it ends,
/// and the body's exception is rethrown here.
template <class Body>
void with_registry(server::registry_options o, Body body) {
  boost::asio::io_context ioc;
  server::registry srv(ioc.get_executor(), std::move(o));
  srv.start();
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        try {
          co_await body(ioc.get_executor(), srv);
        } catch (...) {
          failure = std::current_exception();
        }
        srv.stop();
      },
      boost::asio::detached);
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace coras::test

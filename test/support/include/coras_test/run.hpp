// Run a coroutine to completion on a private io_context, and read the
// fixtures' environment.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace coras::test {

/// Runs `make(executor)`'s awaitable on a fresh io_context until it finishes;
/// returns its value or rethrows its exception.
template <class MakeAwaitable>
auto run(MakeAwaitable make) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, make(ioc.get_executor()), boost::asio::use_future);
  ioc.run();
  return fut.get();
}

/// An environment variable the fixture must have set.
inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    throw std::runtime_error(
        std::string(name) +
        " is not set: run this test through test/fixtures/with-docker-registry");
  return v;
}

}  // namespace coras::test

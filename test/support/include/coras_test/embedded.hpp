// Runs a test body against the embedded registry, in-process.
#pragma once

#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <string>

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

/// Runs `body(client, server)` (a coroutine): an HTTP client and a started
/// embedded registry on the same fresh io_context, as `with_registry`.
template <class Body>
void with_client(server::registry_options o, Body body) {
  with_registry(std::move(o), [&](auto ex, server::registry& srv) -> boost::asio::awaitable<void> {
    http::client c(ex);
    co_await body(c, srv);
  });
}

/// Repository options for the embedded registry: plain HTTP.
inline remote::repository_options plain_options() {
  remote::repository_options o;
  o.plain_http = true;
  return o;
}

/// Repository `name` on `srv` (plain HTTP unless `o` says otherwise).
inline remote::repository repo_on(const http::client& c, const server::registry& srv,
                                  std::string name,
                                  remote::repository_options o = plain_options()) {
  return remote::repository(c, srv.host() + "/" + name, std::move(o));
}

}  // namespace coras::test

// Install test, consumer (b): built by CMake with find_package(coras CONFIG
// REQUIRED) and coras::coras (README, "Use it in your project"). Parses a
// reference, resolves its tag in a coroutine with use_awaitable, prints the
// digest.
//
//   app REGISTRY/REPOSITORY:TAG    (a plain-HTTP registry)
#include <coras/core/reference.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <iostream>
#include <string>

boost::asio::awaitable<void> resolve(coras::remote::repository repo, std::string tag) {
  // Throws boost::system::system_error on failure.
  coras::descriptor desc = co_await repo.async_resolve(tag, boost::asio::use_awaitable);
  std::cout << desc.digest.str() << '\n';
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: app REGISTRY/REPOSITORY:TAG\n";
    return 2;
  }
  auto ref = coras::reference::parse(argv[1]);
  boost::asio::io_context ioc;
  coras::http::client http(ioc.get_executor());
  coras::remote::repository_options options;
  options.plain_http = true;
  coras::remote::repository repo(http, ref, options);
  int status = 1;
  boost::asio::co_spawn(ioc, resolve(repo, std::string(ref.tag())), [&](std::exception_ptr e) {
    if (!e) {
      status = 0;
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "resolve: " << ex.what() << '\n';
    }
  });
  ioc.run();
  return status;
}

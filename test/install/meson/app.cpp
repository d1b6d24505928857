// Install test, consumer (c): a meson project with coras under subprojects/,
// through dependency('coras') (README, "Use it in your project"). Parses a
// reference, resolves its tag with use_future while a thread runs the
// io_context, prints the digest.
//
//   app REGISTRY/REPOSITORY:TAG    (a plain-HTTP registry)
#include <coras/core/reference.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <exception>
#include <future>
#include <iostream>
#include <string>
#include <thread>

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
  // use_future starts the operation now; run() returns once it is done.
  std::future<coras::descriptor> desc =
      repo.async_resolve(std::string(ref.tag()), boost::asio::use_future);
  std::thread runner([&ioc] { ioc.run(); });
  int status = 0;
  try {
    std::cout << desc.get().digest.str() << '\n';  // throws system_error on failure
  } catch (const std::exception& e) {
    std::cerr << "resolve: " << e.what() << '\n';
    status = 1;
  }
  runner.join();
  return status;
}

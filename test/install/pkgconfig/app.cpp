// Install test, consumer (a): built with pkg-config and a plain g++ command
// (README, "Use it in your project"). Parses a reference, resolves its tag
// with a plain callback as the completion token, prints the digest.
//
//   app REGISTRY/REPOSITORY:TAG    (a plain-HTTP registry)
#include <coras/core/reference.hpp>
#include <coras/remote/repository.hpp>
#include <coras/version.hpp>

#include <boost/asio/io_context.hpp>

#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: app REGISTRY/REPOSITORY:TAG\n";
    return 2;
  }
  // The headers and the library must be the same release.
  if (std::strcmp(coras::version(), CORAS_VERSION_STRING) != 0) {
    std::cerr << "headers " << CORAS_VERSION_STRING << ", library " << coras::version() << '\n';
    return 1;
  }
  auto ref = coras::reference::parse(argv[1]);
  boost::asio::io_context ioc;
  coras::http::client http(ioc.get_executor());
  coras::remote::repository_options options;
  options.plain_http = true;
  coras::remote::repository repo(http, ref, options);
  int status = 1;
  repo.async_resolve(std::string(ref.tag()), [&](coras::error_code ec, coras::descriptor desc) {
    if (ec) {
      std::cerr << "resolve: " << ec.message() << '\n';
      return;
    }
    std::cout << desc.digest.str() << '\n';
    status = 0;
  });
  ioc.run();
  return status;
}

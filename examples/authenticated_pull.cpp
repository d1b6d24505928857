// Resolves a tag and lists a repository's tags with the credentials docker
// (or `coras login`) stored: config.json entries and credential helpers.
// Anonymous registries work too: an anonymous bearer token is fetched when
// the registry asks for one.
//
//   example_authenticated_pull REGISTRY/REPOSITORY:TAG [--plain-http]
#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(coras::reference ref, bool plain_http, int& status) {
  coras::http::client_options http_options;
  http_options.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
  auto ex = co_await asio::this_coro::executor;
  coras::http::client http(ex, http_options);
  coras::remote::repository_options options;
  options.plain_http = plain_http;
  coras::remote::repository repo(http, ref, options);

  coras::diagnostics diag;  // keeps the registry's own words for the message
  auto [ec, desc] =
      co_await repo.async_resolve(ref.tag_or_digest(), diag, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    std::cerr << "error: " << diag.message() << '\n';
    status = 1;
    co_return;
  }
  std::cout << ref.str() << " is " << desc.digest.str() << " (" << desc.media_type << ", "
            << desc.size << " bytes)\n";
  auto stats = http.stats();
  std::cout << "tokens fetched: " << stats.tokens_fetched << '\n';
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_authenticated_pull REGISTRY/REPOSITORY:TAG [--plain-http]\n";
    return 2;
  }
  std::string why;
  auto ref = coras::reference::try_parse(argv[1], &why);
  if (!ref || ref->tag_or_digest().empty()) {
    std::cerr << "need a reference with a tag or digest: " << why << '\n';
    return 2;
  }
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, run(*ref, argc > 2 && std::string(argv[2]) == "--plain-http", status),
                 asio::detached);
  ioc.run();
  return status;
}

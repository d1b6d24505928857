// A pull-through cache in-process: the embedded registry in front of an
// upstream registry (coras::mirror), then 8 clients pulling the same image
// through it at once. Each blob is fetched from the upstream once, however
// many clients ask; every client's copy is verified against its digest.
//
//   example_pull_through_mirror UPSTREAM_HOST[:PORT] REPOSITORY:TAG [--plain-http]
//
// The upstream's credentials come from the docker config (and its credential
// helpers), as for `coras serve --mirror https://UPSTREAM`.
#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/core/manifest.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;

// One client: resolves the tag through the mirror, then reads the config and
// every layer (the blob reader verifies each against its digest).
asio::awaitable<std::size_t> pull(std::string mirror_host, std::string name, std::string tag,
                                  std::string& digest_out) {
  auto ex = co_await asio::this_coro::executor;  // (not inside a constructor call: GCC 12)
  coras::http::client http(ex);
  coras::remote::repository_options options;
  options.plain_http = true;  // the in-process mirror listens on plain HTTP
  coras::remote::repository repo(http, mirror_host + "/" + name, options);
  auto desc = co_await repo.async_resolve(tag);
  digest_out = desc.digest.str();
  const auto json = co_await repo.async_fetch_bytes(desc);
  auto manifest = coras::image_manifest::parse(json);
  std::vector<coras::descriptor> blobs{manifest.config};
  blobs.insert(blobs.end(), manifest.layers.begin(), manifest.layers.end());
  for (const auto& b : blobs) {
    auto bytes = co_await repo.async_fetch_bytes(b);  // verified against b.digest
  }
  co_return blobs.size();
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: example_pull_through_mirror UPSTREAM_HOST[:PORT] REPOSITORY:TAG "
                 "[--plain-http]\n";
    return 2;
  }
  const std::string upstream = argv[1];
  const std::string image = argv[2];
  const bool plain_http = argc > 3 && std::string(argv[3]) == "--plain-http";
  const auto colon = image.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    std::cerr << "need REPOSITORY:TAG\n";
    return 2;
  }
  const std::string name = image.substr(0, colon), tag = image.substr(colon + 1);

  asio::io_context ioc;
  // The composition root: the upstream client (credentials, TLS), the
  // mirror's options, the registry in front.
  coras::http::client_options upstream_client;
  upstream_client.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
  coras::mirror::mirror_options mirror;
  mirror.upstream = (plain_http ? "http://" : "https://") + upstream;
  coras::server::registry_options options;  // 127.0.0.1, a free port, memory storage
  auto cache = coras::mirror::attach(
      options, coras::http::client(ioc.get_executor(), upstream_client), mirror);
  coras::server::registry registry(ioc.get_executor(), options);
  registry.start();
  std::cout << "mirror " << registry.url() << " of " << mirror.upstream << '\n';

  constexpr int clients = 8;
  std::vector<std::string> digests(clients);
  std::vector<std::size_t> counts(clients);
  int done = 0, failed = 0;
  for (int i = 0; i < clients; ++i)
    asio::co_spawn(ioc, pull(registry.host(), name, tag, digests[i]),
                   [&, i](std::exception_ptr e, std::size_t n) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         std::cerr << "client " << i << ": " << x.what() << '\n';
                       }
                       ++failed;
                     }
                     counts[i] = n;
                     if (++done == clients) registry.stop();
                   });
  ioc.run();
  if (failed) return 1;

  const auto s = cache->stats();
  std::cout << clients << " clients pulled " << image << " (" << digests[0] << "): " << counts[0]
            << " blobs each, " << s.upstream_fetches << " fetched upstream\n";
  std::cout << "upstream bytes " << s.upstream_bytes << ", bytes served " << s.bytes_served << '\n';
}

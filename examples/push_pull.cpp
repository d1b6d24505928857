// The main job, end to end: push a set of blobs and an image manifest that
// lists them, then resolve the tag and pull every layer back in parallel,
// each verified against its digest, and report the throughput.
// `scripts/run demo` runs it against `coras serve`.
//
//   example_push_pull HOST:PORT [--plain-http] [--blobs N] [--size BYTES] [--concurrency C]
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct settings {
  std::string registry;
  bool plain_http = false;
  int blobs = 32;
  std::size_t size = 4 * 1024 * 1024;
  int concurrency = 8;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Runs job(i) for i in [0, n) with at most `concurrency` in flight.
template <class Job>
asio::awaitable<void> for_each_parallel(int n, int concurrency, Job job) {
  auto ex = co_await asio::this_coro::executor;
  int next = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < n) co_await job(next++);
  };
  using op_type = decltype(asio::co_spawn(ex, worker(), asio::deferred));
  std::vector<op_type> workers;
  for (int w = 0; w < std::min(n, concurrency); ++w)
    workers.push_back(asio::co_spawn(ex, worker(), asio::deferred));
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(workers))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

asio::awaitable<void> run(settings s) {
  auto ex = co_await asio::this_coro::executor;
  coras::http::client_options http;
  http.max_connections_per_origin = static_cast<std::size_t>(s.concurrency);
  coras::http::client client(ex, http);
  coras::remote::repository_options options;
  options.plain_http = s.plain_http;
  coras::remote::repository repo(client, s.registry + "/coras-demo/app", options);

  // Random (incompressible) layers, made before the clock starts.
  std::vector<std::string> contents(static_cast<std::size_t>(s.blobs));
  std::mt19937_64 rng(std::random_device{}());
  for (auto& c : contents) {
    c.resize(s.size);
    for (std::size_t i = 0; i + 8 <= c.size(); i += 8) {
      auto v = rng();
      std::memcpy(c.data() + i, &v, 8);
    }
  }
  const double total_mib = double(s.size) * s.blobs / (1024 * 1024);

  // Push: the blobs in parallel, then the config and the manifest.
  std::vector<coras::descriptor> layers(contents.size());
  auto t0 = clock_type::now();
  co_await for_each_parallel(s.blobs, s.concurrency, [&](int i) -> asio::awaitable<void> {
    layers[i] =
        co_await repo.async_push_bytes(std::string(coras::media_type::oci_layer), contents[i]);
  });
  co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                 std::string(coras::empty_json));
  coras::image_manifest manifest;
  manifest.media_type = std::string(coras::media_type::oci_manifest);
  manifest.config = coras::empty_json_descriptor();
  manifest.layers = layers;
  const auto json = manifest.to_json();
  auto mdesc = coras::descriptor::for_content(coras::media_type::oci_manifest, json);
  co_await repo.async_push_reference(mdesc, coras::memory_source(json), "v1");
  const double push_s = seconds_since(t0);
  std::printf("pushed %d blobs of %zu bytes and manifest %s as %s:v1\n", s.blobs, s.size,
              mdesc.digest.str().c_str(), repo.ref().name().c_str());
  std::printf("push: %.1f MiB in %.2f s = %.0f MiB/s\n", total_mib, push_s, total_mib / push_s);

  // Pull: resolve the tag, fetch the manifest, then every layer in parallel.
  t0 = clock_type::now();
  auto resolved = co_await repo.async_resolve("v1");
  auto pulled = coras::image_manifest::parse(co_await repo.async_fetch_bytes(resolved));
  std::vector<char> mismatched(pulled.layers.size(), 0);
  co_await for_each_parallel(static_cast<int>(pulled.layers.size()), s.concurrency,
                             [&](int i) -> asio::awaitable<void> {
                               // Verified against the layer's digest before it is returned.
                               auto bytes = co_await repo.async_fetch_bytes(pulled.layers[i]);
                               mismatched[i] = bytes != contents[i];
                             });
  const double pull_s = seconds_since(t0);
  int bad = 0;
  for (char m : mismatched) bad += m;
  std::printf("pulled %s: %zu layers, each verified (sha256), %d differing from what was pushed\n",
              resolved.digest.str().c_str(), pulled.layers.size(), bad);
  std::printf("pull: %.1f MiB in %.2f s = %.0f MiB/s\n", total_mib, pull_s, total_mib / pull_s);
  auto st = client.stats();
  std::printf("http: %llu requests over %llu connections\n",
              static_cast<unsigned long long>(st.requests),
              static_cast<unsigned long long>(st.connections_opened));
  if (bad) throw std::runtime_error("pulled content differs from pushed content");
}

int main(int argc, char** argv) {
  settings s;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&] { return i + 1 < args.size() ? args[++i] : std::string("0"); };
    if (args[i] == "--plain-http")
      s.plain_http = true;
    else if (args[i] == "--blobs")
      s.blobs = std::stoi(value());
    else if (args[i] == "--size")
      s.size = std::stoull(value());
    else if (args[i] == "--concurrency")
      s.concurrency = std::stoi(value());
    else if (s.registry.empty() && args[i][0] != '-')
      s.registry = args[i];
    else {
      std::cerr << "unknown argument: " << args[i] << '\n';
      return 2;
    }
  }
  if (s.registry.empty() || s.blobs < 1 || s.concurrency < 1) {
    std::cerr << "usage: example_push_pull HOST:PORT [--plain-http] [--blobs N] [--size BYTES] "
                 "[--concurrency C]\n";
    return 2;
  }
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, run(s), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "error: " << ex.what() << '\n';
      status = 1;
    }
  });
  ioc.run();
  return status;
}

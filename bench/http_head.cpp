// bench_http_head URL [REQUESTS] [CONCURRENCY] [CONNECTIONS] [METHOD]
//
// Sends REQUESTS (default 10000) METHOD (default HEAD) requests to URL with
// CONCURRENCY (default 64) in flight through one coras client allowing
// CONNECTIONS (default 64) connections, on one thread, and prints one line:
//   coras: N requests, C concurrent, X.XX s, R req/s, K connections, H TLS handshakes
// GET bodies are read to the end (and dropped).
// bench/http-head.sh runs it next to wrk against the same server.
#include <coras/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_http_head URL [REQUESTS] [CONCURRENCY] [CONNECTIONS] [METHOD]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long requests = argc > 2 ? std::atol(argv[2]) : 10000;
  const long concurrency = argc > 3 ? std::atol(argv[3]) : 64;
  coras::http::client_options options;
  options.max_connections_per_origin = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 64;
  options.tls.insecure_skip_verify = true;  // a benchmark against a throw-away certificate
  const std::string method = argc > 5 ? argv[5] : "HEAD";

  asio::io_context ioc(1);
  coras::http::client c(ioc.get_executor(), options);
  long next = 0, failed = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    coras::http::request req;
    req.method = method;
    req.url = url;
    while (next < requests) {
      ++next;
      auto r = co_await c.async_send(req);
      if (r.status() != 200) ++failed;
      if (!r.body_done()) co_await r.async_read_all(1 << 20);
    }
  };
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < concurrency; ++i)
    asio::co_spawn(ioc, worker(), [&](std::exception_ptr e) {
      if (e) ++failed;
    });
  ioc.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto s = c.stats();
  std::printf(
      "coras: %ld %s requests, %ld concurrent, %.2f s, %.0f req/s, %llu connections, %llu TLS "
      "handshakes, %ld failed\n",
      requests, method.c_str(), concurrency, secs, static_cast<double>(requests) / secs,
      static_cast<unsigned long long>(s.connections_opened),
      static_cast<unsigned long long>(s.tls_handshakes), failed);
  return failed ? 1 : 0;
}

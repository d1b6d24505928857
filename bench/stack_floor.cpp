// coras-bench floor: what the design card's stack itself costs a request.
// The same manifest GET coras-bench resolve --method GET makes (the Accept
// list, the body read and hashed with SHA-256), written straight on
// Boost.Asio coroutines and Beast's parser with nothing of coras: one
// io_context thread, one connection per worker, no pool, no retries, no
// type erasure. Two shapes:
//   loop       each worker is one coroutine that sends its requests one
//              after the other on its connection (what wrk does, in Asio);
//   operation  each request is an operation of its own, as an SDK's is: a
//              coroutine co_spawn'ed onto a strand with a completion
//              handler, awaited by the worker.
// The gap between wrk and `loop` is the stack's; between `loop` and coras
// the SDK's. docs/benchmarks.md ("What the stack costs a request").
#include "bench.hpp"
#include "measure.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace coras::bench_tool {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

const char* const floor_usage = R"(usage: coras-bench floor URL [options]

GETs URL (plain HTTP, a manifest: the body is hashed with SHA-256) REQUESTS
times over CONCURRENCY connections on one io_context thread, written on
Boost.Asio coroutines and Beast alone, and prints requests per second and
the client's CPU per request.

  --requests N       requests (default 200000)
  --concurrency N    connections, one worker each (default 64)
  --shape SHAPE      loop: a coroutine per worker sending one request after
                     the other (default); operation: each request
                     co_spawn'ed onto a strand as an operation of its own
  --json             one JSON object (rate, requests, p50_ms, p99_ms, cpu_s)
                     instead of the line of text
)";

// The Accept list coras sends for a manifest (and bench/wrk-manifest.lua).
constexpr const char* accept_list =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.artifact.manifest.v1+json";

struct floor_settings {
  std::string host, port, target;
  std::size_t requests = 200000;
  std::size_t concurrency = 64;
  bool operation = false;
  bool json = false;
};

floor_settings parse_floor(const std::vector<std::string>& args) {
  floor_settings s;
  std::string url;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(floor_usage, stdout);
      std::exit(0);
    } else if (a == "--requests") {
      s.requests = std::stoul(value());
    } else if (a == "--concurrency") {
      s.concurrency = std::max<std::size_t>(1, std::stoul(value()));
    } else if (a == "--shape") {
      const auto& v = value();
      if (v != "loop" && v != "operation") throw std::runtime_error("--shape: loop or operation");
      s.operation = v == "operation";
    } else if (a == "--json") {
      s.json = true;
    } else if (url.empty() && !a.empty() && a[0] != '-') {
      url = a;
    } else {
      throw std::runtime_error("unknown argument " + a + "\n" + floor_usage);
    }
  }
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::runtime_error("a plain-HTTP URL is needed (http://HOST:PORT/PATH)\n" +
                             std::string(floor_usage));
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  s.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  s.host = authority.substr(0, colon);
  s.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  return s;
}

struct connection {
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  explicit connection(tcp::socket s) : socket(std::move(s)) {}
};

// One GET on `c`: the request written whole, the answer parsed, its body
// hashed (as a verified manifest fetch does). Returns the status.
asio::awaitable<unsigned> get_once(connection& c, const std::string& request) {
  co_await asio::async_write(c.socket, asio::buffer(request), asio::use_awaitable);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(4u << 20);
  co_await bhttp::async_read(c.socket, c.buffer, parser, asio::use_awaitable);
  const auto& body = parser.get().body();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  co_return parser.get().result_int();
}

}  // namespace

int run_stack_floor(const std::vector<std::string>& args) {
  const auto s = parse_floor(args);
  const std::string request = "GET " + s.target + " HTTP/1.1\r\nHost: " + s.host + ":" + s.port +
                              "\r\nUser-Agent: coras-bench-floor\r\nAccept: " + accept_list +
                              "\r\n\r\n";
  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(s.host, s.port);
  std::vector<std::unique_ptr<connection>> conns;
  for (std::size_t i = 0; i < s.concurrency; ++i) {
    tcp::socket sock(ioc);
    asio::connect(sock, endpoints);
    sock.set_option(tcp::no_delay(true));
    conns.push_back(std::make_unique<connection>(std::move(sock)));
  }
  // Every operation of the `operation` shape runs on one strand, as an
  // SDK's on its client's strand.
  auto strand = asio::make_strand(ioc);
  std::size_t issued = 0, bad = 0;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(s.requests);
  std::exception_ptr failure;
  auto worker = [&](connection& c) -> asio::awaitable<void> {
    while (issued < s.requests) {
      ++issued;
      const auto t0 = std::chrono::steady_clock::now();
      unsigned status = 0;  // (GCC 12: no co_await inside ?:)
      if (s.operation)
        status = co_await asio::co_spawn(strand, get_once(c, request), asio::use_awaitable);
      else
        status = co_await get_once(c, request);
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (status != 200) ++bad;
    }
  };
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& c : conns)
    asio::co_spawn(ioc, worker(*c), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
    });
  ioc.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  if (failure) std::rethrow_exception(failure);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto at = [&](double q) {
    return latencies_ms.empty() ? 0.0
                                : latencies_ms[static_cast<std::size_t>(
                                      q * static_cast<double>(latencies_ms.size() - 1))];
  };
  const double rate = static_cast<double>(s.requests) / wall;
  if (s.json) {
    std::printf(
        "{\"rate\": %.1f, \"requests\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"cpu_s\": %.3f, \"rc\": %d}\n",
        rate, s.requests, at(0.50), at(0.99), cpu, bad ? 1 : 0);
    return bad ? 1 : 0;
  }
  std::printf(
      "floor %-9s requests %zu  conc %zu  wall %.2f s  %.0f req/s  client CPU %.2f s  "
      "%.1f us/request%s\n",
      s.operation ? "operation" : "loop", s.requests, s.concurrency, wall, rate, cpu,
      cpu * 1e6 / static_cast<double>(s.requests), bad ? "  (answers not 200!)" : "");
  return bad ? 1 : 0;
}

}  // namespace coras::bench_tool

// The measured phases. Each makes a fresh http::client (so its stats() count
// that phase alone), runs its jobs with at most --concurrency in flight, and
// records wall time, CPU, peak RSS and the client's counters.
#include "bench.hpp"
#include "embedded_registry.hpp"
#include "generated_body.hpp"
#include "measure.hpp"
#include "parallel.hpp"

#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace coras::bench_tool {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

// Each worker a coroutine co_spawned with a plain completion handler, as
// the floor's (stack_floor.cpp) and as a service's request handlers usually
// are: no cancellation slot reaches coras, which then has none to pass to
// every socket operation (a parallel_group's costs ~3,000 instructions and
// ~5 allocations a manifest GET; docs/benchmarks.md). After a failure the
// workers take no new jobs.
asio::awaitable<void> for_each_parallel(std::size_t n, std::size_t concurrency, const job_fn& job) {
  auto ex = co_await asio::this_coro::executor;
  const std::size_t workers = std::min(n, concurrency);
  if (workers == 0) co_return;
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&](std::size_t w) -> asio::awaitable<void> {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) break;
      co_await job(w, i);
    }
  };
  // Thread-safe: with --threads the workers end on any thread.
  asio::experimental::concurrent_channel<void(error_code)> ended(ex, workers);
  for (std::size_t w = 0; w < workers; ++w)
    asio::co_spawn(ex, worker(w), [&](std::exception_ptr e) {
      if (e) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = e;
        next = n;
      }
      ended.try_send(error_code());
    });
  for (std::size_t w = 0; w < workers; ++w) co_await ended.async_receive(asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
}

namespace {

// Manifests and small answers read whole.
constexpr std::uint64_t metadata_limit = 1 << 20;

[[noreturn]] void fail(const std::string& what, const error_code& ec, const diagnostics& d) {
  throw std::runtime_error(what + ": " + (d.message().empty() ? ec.message() : d.message()));
}

class bench {
 public:
  bench(const settings& s, target t, const embedded_registry* embedded)
      : s_(s), target_(std::move(t)), embedded_(embedded) {}

  std::vector<phase_result> results;

  asio::awaitable<void> run() {
    const std::string& c = s_.command;
    if (c == "http") {
      co_await http_phase();
      co_return;
    }
    if (c == "transfer" || c == "push" || c == "pull" || c == "all") {
      make_blobs();
      co_await push_phase(c != "pull");
      if (c != "push") co_await pull_phase();
    }
    if (c == "resolve" || c == "all") {
      co_await resolve_setup();
      co_await resolve_phase();
    }
  }

 private:
  struct phase_clock {
    clock_type::time_point t0 = clock_type::now();
    double cpu0 = process_cpu_seconds();
    double server0 = 0;
    bool per_phase_rss = reset_peak_rss();
  };

  phase_clock start_clock() const {
    phase_clock c;
    if (embedded_) c.server0 = embedded_->cpu_seconds();
    return c;
  }

  void finish(phase_result& r, const phase_clock& c, const http::client& client) {
    r.wall_s = std::chrono::duration<double>(clock_type::now() - c.t0).count();
    const double cpu = process_cpu_seconds() - c.cpu0;
    if (embedded_) {
      const double server = embedded_->cpu_seconds() - c.server0;
      r.server_cpu_s = server;
      r.client_cpu_s = std::max(0.0, cpu - server);
    } else {
      r.client_cpu_s = cpu;
    }
    r.peak_rss_mib = peak_rss_mib(c.per_phase_rss);
    if (!c.per_phase_rss) r.note = "peak RSS is the process's lifetime peak";
    r.http = client.stats();
    results.push_back(std::move(r));
  }

  http::client make_client(std::size_t connections) {
    auto o = target_.http;
    o.max_connections_per_origin = connections;
    // --threads 1: the io_context has one thread, as a single-threaded
    // service's (wrk's and the floor's loops are single-threaded too).
    o.single_threaded = s_.threads == 1 && !s_.strand;
    return http::client(ex_, o);
  }

  remote::repository make_repo(const http::client& client, const std::string& name) {
    remote::repository_options o;
    o.plain_http = target_.plain_http;
    return remote::repository(client, target_.host + "/" + name, o);
  }

  std::string blob_repo() {
    if (!s_.repo.empty()) return s_.repo;
    if (blob_repo_.empty()) {
      std::random_device rd;
      char tag[17];
      std::snprintf(tag, sizeof tag, "%08x%08x", rd(), rd());
      blob_repo_ = std::string("coras-bench/blobs-") + tag;
    }
    return blob_repo_;
  }

  // Seeds and digests of the blobs, before any clock starts (hashed on
  // --threads threads).
  void make_blobs() {
    std::random_device rd;
    seeds_.resize(s_.count);
    for (auto& seed : seeds_) seed = (std::uint64_t{rd()} << 32) ^ rd();
    blobs_.assign(s_.count, descriptor{});
    std::atomic<std::size_t> next{0};
    auto hash = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < s_.count;) {
        blobs_[i].media_type = std::string(media_type::oci_layer);
        blobs_[i].digest = digest_of_generated(seeds_[i], s_.size);
        blobs_[i].size = static_cast<std::int64_t>(s_.size);
      }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < s_.threads; ++t) threads.emplace_back(hash);
    hash();
    for (auto& t : threads) t.join();
  }

  asio::awaitable<void> push_phase(bool timed) {
    auto client = make_client(s_.concurrency);
    auto repo = make_repo(client, blob_repo());
    job_fn job = [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
      auto body = std::make_shared<generated_body>(seeds_[i], s_.size);
      diagnostics d;
      auto [ec] = co_await repo.async_push(blobs_[i], body, d, asio::as_tuple(asio::deferred));
      if (ec) fail("push " + blobs_[i].digest.str(), ec, d);
    };
    phase_result r;  // reported only when timed (`pull` pushes its blobs first)
    r.name = "push";
    r.items = s_.count;
    r.bytes = s_.count * s_.size;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.count, s_.concurrency, job);
    if (timed) finish(r, c, client);
  }

  asio::awaitable<void> pull_phase() {
    auto client = make_client(s_.concurrency);
    auto repo = make_repo(client, blob_repo());
    // Small blobs come whole (verified before they are handed out); larger ones
    // stream through one buffer per worker, verified by the read that ends them.
    constexpr std::uint64_t whole_limit = 1 << 20;
    constexpr std::size_t buffer_size = 256 * 1024;
    std::vector<std::vector<char>> buffers(std::min(s_.count, s_.concurrency));
    std::atomic<std::uint64_t> received{0};
    job_fn job = [&](std::size_t w, std::size_t i) -> asio::awaitable<void> {
      diagnostics d;
      if (s_.size <= whole_limit) {
        auto [ec, bytes] =
            co_await repo.async_fetch_bytes(blobs_[i], d, asio::as_tuple(asio::deferred));
        if (ec) fail("pull " + blobs_[i].digest.str(), ec, d);
        received += bytes.size();
        co_return;
      }
      auto [ec, reader] = co_await repo.async_fetch(blobs_[i], d, asio::as_tuple(asio::deferred));
      if (ec) fail("pull " + blobs_[i].digest.str(), ec, d);
      auto& buffer = buffers[w];
      buffer.resize(buffer_size);
      for (;;) {
        auto [rec, n] = co_await reader.async_read_some(asio::buffer(buffer), d,
                                                        asio::as_tuple(asio::deferred));
        received += n;
        if (rec == asio::error::eof) break;
        if (rec) fail("pull " + blobs_[i].digest.str(), rec, d);
      }
    };
    phase_result r;
    r.name = "pull";
    r.items = s_.count;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.count, s_.concurrency, job);
    r.bytes = received.load();
    if (r.bytes != s_.count * s_.size) throw std::runtime_error("pull: byte count differs");
    finish(r, c, client);
  }

  std::string resolve_repo() const { return s_.repo.empty() ? "coras-bench/resolve" : s_.repo; }

  // One manifest under the tag "bench": the empty config and one 1 KiB layer
  // of fixed content, so every run pushes the same digest.
  asio::awaitable<void> resolve_setup() {
    auto client = make_client(2);
    auto repo = make_repo(client, resolve_repo());
    std::string layer(1024, '\0');
    {
      std::vector<std::byte> block(block_size);
      generate_block(0x636f726173ull, 0, block.data());
      std::memcpy(layer.data(), block.data(), layer.size());
    }
    diagnostics d;
    auto [ec1, layer_desc] = co_await repo.async_push_bytes(
        std::string(media_type::oci_layer), layer, d, asio::as_tuple(asio::deferred));
    if (ec1) fail("resolve setup: push layer", ec1, d);
    auto [ec2, config_desc] =
        co_await repo.async_push_bytes(std::string(media_type::oci_empty), std::string(empty_json),
                                       d, asio::as_tuple(asio::deferred));
    if (ec2) fail("resolve setup: push config", ec2, d);
    image_manifest m;
    m.media_type = std::string(media_type::oci_manifest);
    m.config = config_desc;
    m.layers.push_back(layer_desc);
    const std::string doc = m.to_json();
    manifest_ = descriptor::for_content(media_type::oci_manifest, doc);
    auto body = memory_source(doc);
    auto [ec3] = co_await repo.async_push_reference(manifest_, body, std::string("bench"), d,
                                                    asio::as_tuple(asio::deferred));
    if (ec3) fail("resolve setup: push manifest", ec3, d);
  }

  asio::awaitable<void> resolve_phase() {
    const std::size_t concurrency = s_.resolve_concurrency;
    auto client = make_client(s_.connections ? s_.connections : concurrency);
    auto repo = make_repo(client, resolve_repo());
    const bool get = s_.method == "GET";
    std::vector<std::vector<double>> latencies(std::min(s_.requests, concurrency));
    // One coroutine per method: a coroutine's frame holds the locals of all
    // its branches, and at 10,000 in flight the bench's frames count in the
    // RSS it reports.
    job_fn fetch_job = [&](std::size_t w, std::size_t) -> asio::awaitable<void> {
      diagnostics d;
      const auto t0 = clock_type::now();
      auto [ec, f] = co_await repo.async_fetch_reference(std::string("bench"), d,
                                                         asio::as_tuple(asio::deferred));
      if (ec) fail("fetch manifest", ec, d);
      auto [rec, doc] =
          co_await f.body.async_read_all(metadata_limit, d, asio::as_tuple(asio::deferred));
      if (rec) fail("fetch manifest", rec, d);
      if (f.desc.digest != manifest_.digest) throw std::runtime_error("fetched another manifest");
      latencies[w].push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    job_fn resolve_job = [&](std::size_t w, std::size_t) -> asio::awaitable<void> {
      diagnostics d;
      const auto t0 = clock_type::now();
      auto [ec, desc] =
          co_await repo.async_resolve(std::string("bench"), d, asio::as_tuple(asio::deferred));
      if (ec) fail("resolve", ec, d);
      if (desc.digest != manifest_.digest) throw std::runtime_error("resolved another digest");
      latencies[w].push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    const job_fn& job = get ? fetch_job : resolve_job;
    phase_result r;
    r.name = get ? "resolve GET" : "resolve";
    r.items = s_.requests;
    r.concurrency = concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.requests, concurrency, job);
    for (auto& l : latencies) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    finish(r, c, client);
  }

  asio::awaitable<void> http_phase() {
    auto client = make_client(s_.connections ? s_.connections : s_.concurrency);
    std::vector<std::vector<double>> latencies(std::min(s_.requests, s_.concurrency));
    std::atomic<std::size_t> not_ok{0};
    job_fn job = [&](std::size_t w, std::size_t) -> asio::awaitable<void> {
      http::request req;
      req.method = s_.method;
      req.url = s_.url;
      const auto t0 = clock_type::now();
      auto [ec, resp] = co_await client.async_send(req, asio::as_tuple(asio::deferred));
      if (ec) throw std::runtime_error(s_.method + " " + s_.url + ": " + ec.message());
      if (resp.status() < 200 || resp.status() > 299) ++not_ok;
      if (!resp.body_done()) {
        auto [rec, body] =
            co_await resp.async_read_all(metadata_limit, asio::as_tuple(asio::deferred));
        if (rec) throw std::runtime_error(s_.method + " " + s_.url + ": " + rec.message());
      }
      latencies[w].push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    phase_result r;
    r.name = "http " + s_.method;
    r.items = s_.requests;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.requests, s_.concurrency, job);
    for (auto& l : latencies) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    const std::string note = std::to_string(not_ok.load()) + " answers were not 2xx";
    if (not_ok) r.note = note;
    finish(r, c, client);
    if (not_ok) throw std::runtime_error(note);
  }

 public:
  void set_executor(asio::any_io_executor ex) { ex_ = std::move(ex); }

 private:
  const settings& s_;
  target target_;
  const embedded_registry* embedded_;
  asio::any_io_executor ex_;
  std::vector<std::uint64_t> seeds_;
  std::vector<descriptor> blobs_;
  std::string blob_repo_;
  descriptor manifest_;
};

}  // namespace

std::vector<phase_result> run_phases(const settings& s, const target& t,
                                     const embedded_registry* embedded) {
  asio::io_context ioc(static_cast<int>(s.threads));
  bench b(s, t, embedded);
  b.set_executor(ioc.get_executor());
  std::exception_ptr failure;
  asio::co_spawn(ioc, b.run(), [&](std::exception_ptr e) { failure = e; });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& th : threads) th.join();
  if (failure) std::rethrow_exception(failure);
  return std::move(b.results);
}

}  // namespace coras::bench_tool

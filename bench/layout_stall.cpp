// coras-bench layout: how long an OCI layout's file work holds up the
// caller's executor. On a one-thread io_context (an Asio server's), a 1 ms
// ticker runs beside a push of COUNT blobs of SIZE into a fresh layout and
// then a verified read of them all back; the ticker's lateness (how long
// the thread was busy elsewhere) is what the server's sockets would wait.
// Run twice, alternating: the file work inline (the default), then on
// `oci_layout_options::work_executor` (a thread pool). The blobs come from
// memory as a stream that yields at each read (as a socket does, with no CPU
// of its own), so what holds the thread up is the layout's work.
#include "bench.hpp"
#include "measure.hpp"
#include "parallel.hpp"

#include <coras/content/oci_layout.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace coras::bench_tool {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

const char* const layout_usage = R"(usage: coras-bench layout [options]

Pushes COUNT blobs of SIZE into a fresh OCI layout and reads them back
(verified) on a one-thread io_context, with a 1 ms ticker beside them;
prints how late the ticker got, with the file work inline and on a work
executor (a thread pool), runs alternating.

  --count N          blobs (default 8)
  --size SIZE        bytes per blob, K/M/G in powers of 1024 (default 128M)
  --parallel N       blobs pushed (then read) at once (default 8)
  --rounds N         runs of each mode (default 3; the table gives medians)
  --pool-threads N   threads of the work executor (default 2)
  --sync             fsync each blob (oci_layout_options::sync)
  --dir DIR          where the layouts are made (default: a directory in
                     the system's temporary directory; removed afterwards)
)";

// A source read through the executor's queue, as a socket's reads complete
// (and not contiguous: the layout reads it in pieces, as a network source):
// the ticker gets its turn between pieces whatever the layout does.
class yielding_source final : public byte_source {
 public:
  explicit yielding_source(std::shared_ptr<byte_source> inner) : inner_(std::move(inner)) {}
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  asio::awaitable<std::size_t> read(asio::mutable_buffer b) override {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return co_await inner_->read(b);
  }
  bool rewind() override { return inner_->rewind(); }

 private:
  std::shared_ptr<byte_source> inner_;
};

struct ticks {
  std::vector<double> late_ms;  // each tick's lateness
  bool stop = false;
};

// Every 1 ms until told to stop; records how late each wake-up came.
asio::awaitable<void> ticker(ticks& t) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = clock_type::now() + std::chrono::milliseconds(1);
  while (!t.stop) {
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
    const auto now = clock_type::now();
    t.late_ms.push_back(std::chrono::duration<double, std::milli>(now - next).count());
    next = std::max(next + std::chrono::milliseconds(1), now);
  }
}

struct run_result {
  double push_s = 0, read_s = 0;
  double max_late_ms = 0, p99_late_ms = 0;
  std::size_t ticks = 0;
};

struct options {
  std::size_t count = 8;
  std::uint64_t size = 128ull << 20;
  int rounds = 3;
  std::size_t parallel = 8;
  unsigned pool_threads = 2;
  bool sync = false;
  fs::path dir;
};

run_result run_once(const options& o, const std::vector<std::shared_ptr<const std::string>>& blobs,
                    const std::vector<descriptor>& descs, const fs::path& where,
                    asio::thread_pool* pool) {
  content::oci_layout_options lo;
  lo.sync = o.sync;
  if (pool) lo.work_executor = pool->get_executor();
  fs::remove_all(where);
  content::oci_layout layout(where, lo);
  asio::io_context ioc(1);
  ticks t;
  run_result r;
  std::exception_ptr failure;
  asio::co_spawn(ioc, ticker(t), asio::detached);
  auto work = [&]() -> asio::awaitable<void> {
    // All blobs at once, as a copy or a server's clients would.
    auto t0 = clock_type::now();
    co_await for_each_parallel(
        blobs.size(), o.parallel, [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
          co_await layout.push(descs[i],
                               std::make_shared<yielding_source>(memory_source(blobs[i])));
        });
    auto t1 = clock_type::now();
    co_await for_each_parallel(
        descs.size(), o.parallel, [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
          std::vector<char> buffer(1 << 20);
          auto source = co_await layout.fetch(descs[i]);
          // Each piece then yields, as sending it on to a socket would.
          while (co_await source->read(asio::buffer(buffer)) > 0)
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        });
    auto t2 = clock_type::now();
    r.push_s = std::chrono::duration<double>(t1 - t0).count();
    r.read_s = std::chrono::duration<double>(t2 - t1).count();
  };
  asio::co_spawn(ioc, work(), [&](std::exception_ptr e) {
    failure = e;
    t.stop = true;
  });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  fs::remove_all(where);
  r.ticks = t.late_ms.size();
  std::sort(t.late_ms.begin(), t.late_ms.end());
  if (!t.late_ms.empty()) {
    r.max_late_ms = t.late_ms.back();
    r.p99_late_ms = percentile(t.late_ms, 99);
  }
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int run_layout_stall(const std::vector<std::string>& args) {
  options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value\n" + layout_usage);
      return args[++i];
    };
    if (a == "--count")
      o.count = std::stoul(value());
    else if (a == "--size")
      o.size = parse_size(value());
    else if (a == "--parallel")
      o.parallel = std::max<std::size_t>(1, std::stoul(value()));
    else if (a == "--rounds")
      o.rounds = std::max(1, std::stoi(value()));
    else if (a == "--pool-threads")
      o.pool_threads = static_cast<unsigned>(std::max(1, std::stoi(value())));
    else if (a == "--sync")
      o.sync = true;
    else if (a == "--dir")
      o.dir = value();
    else if (a == "--help" || a == "-h") {
      std::cout << layout_usage;
      return 0;
    } else
      throw std::runtime_error("unknown option " + a + "\n" + layout_usage);
  }
  if (o.count == 0 || o.size == 0) throw std::runtime_error("--count and --size must be > 0");

  const bool own_dir = o.dir.empty();
  if (own_dir) {
    o.dir = fs::temp_directory_path() /
            ("coras-bench-layout-" + std::to_string(std::random_device{}()));
  }
  fs::create_directories(o.dir);

  // The blobs, made (and hashed) before any clock starts.
  std::vector<std::shared_ptr<const std::string>> blobs;
  std::vector<descriptor> descs;
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i < o.count; ++i) {
    auto bytes = std::make_shared<std::string>(o.size, '\0');
    for (std::size_t k = 0; k + 8 <= bytes->size(); k += 8) {
      const auto v = rng();
      std::memcpy(bytes->data() + k, &v, 8);
    }
    descs.push_back(descriptor::for_content(media_type::oci_layer, *bytes));
    blobs.push_back(std::move(bytes));
  }

  asio::thread_pool pool(o.pool_threads);
  std::vector<run_result> inline_runs, pool_runs;
  for (int round = 0; round < o.rounds; ++round) {
    // Alternating, each round starting with the other mode.
    for (int k = 0; k < 2; ++k) {
      const bool with_pool = (round + k) % 2 == 1;
      auto r = run_once(o, blobs, descs, o.dir / "layout", with_pool ? &pool : nullptr);
      (with_pool ? pool_runs : inline_runs).push_back(r);
      std::fprintf(stderr,
                   "  round %d %-14s push %.2f s, read %.2f s, ticker late max %.1f ms, "
                   "p99 %.2f ms (%zu ticks)\n",
                   round + 1, with_pool ? "work executor" : "inline", r.push_s, r.read_s,
                   r.max_late_ms, r.p99_late_ms, r.ticks);
    }
  }
  pool.join();
  if (own_dir) fs::remove_all(o.dir);

  auto med = [](const std::vector<run_result>& runs, double run_result::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    return median(v);
  };
  std::printf(
      "layout: %zu blobs of %llu bytes, %zu at once, push then verified read, %s, medians of %d\n",
      o.count, static_cast<unsigned long long>(o.size), o.parallel, o.sync ? "fsync" : "no fsync",
      o.rounds);
  std::printf("%-28s %8s %8s %14s %14s\n", "file work", "push s", "read s", "late max ms",
              "late p99 ms");
  for (const auto* runs : {&inline_runs, &pool_runs}) {
    std::printf("%-28s %8.2f %8.2f %14.1f %14.2f\n",
                runs == &inline_runs
                    ? "inline (caller's thread)"
                    : ("work executor (" + std::to_string(o.pool_threads) + " threads)").c_str(),
                med(*runs, &run_result::push_s), med(*runs, &run_result::read_s),
                med(*runs, &run_result::max_late_ms), med(*runs, &run_result::p99_late_ms));
  }
  return 0;
}

}  // namespace coras::bench_tool

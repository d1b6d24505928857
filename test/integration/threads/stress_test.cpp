// The shared machinery driven from 4 threads at once: one io_context run by 4
// threads under the embedded registry (token realm, no Referrers API) and one
// HTTP client with a small pool, a work pool for hashing and file writes, the
// token single flight, and the referrers-index merge of concurrent attaches.
// Built and run under ThreadSanitizer by `scripts/run test` (suite
// "threads"); in the normal build it checks the same results without TSan.
#include <coras_test/files.hpp>
#include <coras_test/random_bytes.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::descriptor;
using coras::errc;
using coras::http::client;
using coras::remote::repository;
using coras::test::random_bytes;
using namespace std::chrono_literals;

namespace {

constexpr int threads = 4;

// Runs `body(executor, work)` (a coroutine) on a fresh io_context run by
// `threads` threads, with a 2-thread pool for the client's CPU work; rethrows
// the body's exception. The pool posts completions to the io_context, so it
// is joined before the io_context is destroyed (a pool thread may still be
// inside that post when run() returns).
template <class Body>
void on_threads(Body body) {
  asio::io_context ioc(threads);
  asio::thread_pool work(2);
  auto done = asio::co_spawn(ioc, body(ioc.get_executor(), work.get_executor()), asio::use_future);
  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i) runners.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : runners) t.join();
  work.join();
  done.get();
}

coras::server::registry_options token_registry() {
  coras::server::registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  o.referrers_api = false;           // attaches merge the referrers index (tag schema)
  o.request_log_capacity = 100'000;  // every token request, for the single-flight check
  return o;
}

coras::http::client_options small_pool(const coras::server::registry& srv,
                                       std::optional<asio::any_io_executor> work) {
  coras::http::client_options o;
  o.auth = coras::auth::make_authorizer(
      coras::auth::static_credentials(srv.host(), coras::auth::credential{"bob", "pw", "", ""}));
  o.max_connections_per_origin = 3;
  o.work_executor = std::move(work);
  return o;
}

coras::remote::repository_options plain() {
  coras::remote::repository_options o;
  o.plain_http = true;
  o.transfer.parallel_threshold = 256 * 1024;  // ranged downloads on the work pool too
  o.transfer.segment_size = 96 * 1024;
  return o;
}

// One push, then three reads of it (bytes, streamed, to a file), checked.
asio::awaitable<void> round_trip(repository repo, std::string content, std::filesystem::path file,
                                 std::atomic<int>& ok) {
  auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
  CHECK(co_await repo.async_exists(desc));
  auto bytes = co_await repo.async_fetch_bytes(desc);
  auto reader = co_await repo.async_fetch(desc);
  auto streamed = co_await coras::test::read_streamed(reader);
  co_await repo.async_fetch_to_file(desc, file);
  if (bytes == content && streamed == content && coras::test::read_file(file) == content) ++ok;
}

asio::awaitable<void> attach(repository repo, descriptor subject, int i) {
  co_await repo.async_push_bytes(
      std::string(coras::media_type::oci_manifest),
      coras::test::artifact_json(subject, "application/vnd.example.sig", std::to_string(i)));
}

// Runs every coroutine of `ops` concurrently, each on a strand of its own
// (so two of them run on two threads at once); rethrows the first failure.
asio::awaitable<void> run_on_strands(std::vector<asio::awaitable<void>> ops) {
  auto ex = co_await asio::this_coro::executor;
  using op_type =
      decltype(asio::co_spawn(asio::make_strand(ex), std::move(ops.front()), asio::deferred));
  std::vector<op_type> started;
  for (auto& op : ops)
    started.push_back(asio::co_spawn(asio::make_strand(ex), std::move(op), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(started))
                             .async_wait(asio::experimental::wait_for_all(), use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Reads the registry's and the client's counters from a thread of its own
// while everything runs: the accessors are documented as callable from any
// thread.
struct observer {
  explicit observer(const coras::server::registry& srv, const client& c)
      : thread([this, &srv, &c] {
          while (!stop) {
            (void)srv.stats();
            (void)srv.recent_requests();
            (void)c.stats();
            std::this_thread::sleep_for(1ms);
          }
        }) {}
  ~observer() {
    stop = true;
    thread.join();
  }
  std::atomic<bool> stop{false};
  std::thread thread;
};

}  // namespace

TEST_CASE("threads: the pool, the token cache and referrers merges from 4 threads at once",
          "[threads][stress]") {
  coras::test::temp_dir dir;
  constexpr int round_trips = 48;
  constexpr int attaches = 16;
  std::atomic<int> ok{0};
  on_threads([&](asio::any_io_executor ex, asio::any_io_executor work) -> asio::awaitable<void> {
    coras::server::registry srv(ex, token_registry());
    srv.start();
    {
      client c(ex, small_pool(srv, work));
      observer watching(srv, c);
      std::vector<repository> repos;
      for (int r = 0; r < 4; ++r)
        repos.emplace_back(c, srv.host() + "/stress/r" + std::to_string(r), plain());
      repository refs(c, srv.host() + "/stress/refs", plain());
      auto subject = co_await coras::test::push_empty_image(refs, "subject");

      // Each coroutine runs on the io_context's executor, not a strand: the
      // four threads call into the client (and its handles) concurrently.
      std::vector<asio::awaitable<void>> ops;
      for (int i = 0; i < round_trips; ++i)
        ops.push_back(round_trip(repos[i % 4], random_bytes(20'000 + 9'000 * i, 300 + i),
                                 dir / ("blob" + std::to_string(i)), ok));
      for (int i = 0; i < attaches; ++i) ops.push_back(attach(refs, subject, i));
      co_await coras::test::run_all(std::move(ops));

      CHECK(ok == round_trips);
      // Every attach is in the index: merged, none lost.
      auto listed = co_await repository(c, srv.host() + "/stress/refs", plain())
                        .async_list_referrers(subject, "");
      std::set<std::string> notes;
      for (const auto& d : listed) notes.insert(d.digest.str());
      CHECK(notes.size() == attaches);
      // Single flight: each token (repository and actions) is fetched once,
      // whatever the number of concurrent requests that met the 401 first.
      std::map<std::string, int> token_fetches;
      for (const auto& r : srv.recent_requests())
        if (r.target.starts_with("/token")) ++token_fetches[r.target];
      for (const auto& [target, n] : token_fetches) {
        INFO(target);
        CHECK(n == 1);
      }
      CHECK(c.stats().tokens_fetched == token_fetches.size());
      // pull,push and pull per repository, and delete where merges replace
      // the referrers index.
      CHECK(token_fetches.size() == 4 * 2 + 3);
      CHECK(c.stats().connections_opened <= 3 * 8);
    }
    srv.stop();
  });
}

TEST_CASE("threads: operations cancelled from other threads mid-transfer end cleanly",
          "[threads][cancel]") {
  using namespace asio::experimental::awaitable_operators;
  coras::test::temp_dir dir;
  std::atomic<int> finished{0}, cancelled{0};
  constexpr int rounds = 64;
  on_threads([&](asio::any_io_executor ex, asio::any_io_executor work) -> asio::awaitable<void> {
    coras::server::registry srv(ex, token_registry());
    srv.start();
    {
      client c(ex, small_pool(srv, work));
      repository repo(c, srv.host() + "/stress/cancel", plain());
      const auto content = random_bytes(600'000, 99);
      auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
      // Responses stall mid-body now and then, so that timers fire while
      // bodies are in flight.
      srv.inject_delay({0ms, 3ms, rounds, "/blobs/"});
      std::vector<asio::awaitable<void>> ops;
      for (int i = 0; i < rounds; ++i)
        ops.push_back([](repository r, descriptor d, const std::string& content,
                         std::filesystem::path file, int i, std::atomic<int>& fin,
                         std::atomic<int>& can) -> asio::awaitable<void> {
          // A strand of its own per caller: its timer and the transfer race,
          // and the loser is cancelled from this strand, not the client's.
          asio::steady_timer t(co_await asio::this_coro::executor,
                               std::chrono::microseconds(200 * (i % 16)));
          auto which = co_await (r.async_fetch_to_file(d, file, asio::as_tuple(use_awaitable)) ||
                                 t.async_wait(asio::as_tuple(use_awaitable)));
          if (which.index() == 0) {
            auto [ec] = std::get<0>(which);
            if (!ec) ++fin;
          } else {
            ++can;
          }
          // Cancelled or not, a file under the final name is the whole blob.
          if (std::filesystem::exists(file)) CHECK(coras::test::read_file(file) == content);
        }(repo, desc, content, dir / ("c" + std::to_string(i)), i, finished, cancelled));
      co_await run_on_strands(std::move(ops));
      // The client is still sound: a last fetch completes.
      CHECK(co_await repo.async_fetch_bytes(desc) == content);
    }
    srv.stop();
  });
  CHECK(finished + cancelled == rounds);
  CHECK(cancelled > 0);  // timers of 0 µs always win: some transfers were cut short
}

// The operations gate (lib/remote/operation_start.hpp): beyond the client's
// per-origin limit, repository operations wait unstarted, in order; one
// cancelled while waiting completes at once and never reaches the registry;
// one cancelled while running is cancelled as before; an io_context torn
// down with operations still waiting frees them; callbacks bound to another
// io_context keep it running until they are called.
#include <coras_test/embedded.hpp>
#include <coras_test/remote_content.hpp>

#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using coras::descriptor;
using coras::http::client;
using coras::remote::repository;
using coras::test::repo_on;
using coras::test::with_registry;

namespace {

// How a resolve started in the background ended (empty while it runs).
struct outcome {
  std::optional<boost::system::error_code> ec;
  coras::diagnostics diag;
};

void resolve_in_background(repository& repo, outcome& out,
                           asio::cancellation_slot slot = asio::cancellation_slot()) {
  repo.async_resolve("v1", out.diag,
                     asio::bind_cancellation_slot(
                         slot, [&out](boost::system::error_code ec, descriptor) { out.ec = ec; }));
}

asio::awaitable<void> sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Polls `done` every 10 ms, for `limit` at most: timing-free on a slow machine.
template <class F>
asio::awaitable<bool> eventually(F done, std::chrono::milliseconds limit = 5s) {
  const auto t0 = std::chrono::steady_clock::now();
  while (!done()) {
    if (std::chrono::steady_clock::now() - t0 > limit) co_return false;
    co_await sleep(10ms);
  }
  co_return true;
}

std::size_t manifest_requests(const coras::server::registry& srv) {
  std::size_t n = 0;
  for (const auto& r : srv.recent_requests())
    n += r.target.find("/manifests/v1") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("operations gate: beyond the limit operations wait unstarted; a cancelled one never runs",
          "[remote][gate][cancel]") {
  with_registry({}, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    coras::http::client_options o;
    o.max_connections_per_origin = 2;
    client c(ex, o);
    auto repo = repo_on(c, srv, "gate");
    co_await coras::test::push_empty_image(repo, "v1");
    srv.clear_request_log();

    // A and B take both places and stay in the registry for 2 s.
    coras::server::delay_fault slow;
    slow.before_headers = 2s;
    slow.count = 3;
    slow.path_contains = "/manifests/v1";
    srv.inject_delay(slow);
    outcome a, b, queued, after;
    resolve_in_background(repo, a);
    resolve_in_background(repo, b);
    asio::cancellation_signal cancel_queued;
    resolve_in_background(repo, queued, cancel_queued.slot());
    resolve_in_background(repo, after);
    const bool two_arrived = co_await eventually([&] { return manifest_requests(srv) == 2; });
    REQUIRE(two_arrived);
    co_await sleep(100ms);
    CHECK(manifest_requests(srv) == 2);  // the other two wait before the registry

    cancel_queued.emit(asio::cancellation_type::terminal);
    const bool aborted = co_await eventually([&] { return queued.ec.has_value(); }, 1s);
    REQUIRE(aborted);  // at once, not after A or B
    CHECK(*queued.ec == asio::error::operation_aborted);
    CHECK(queued.diag.message().find("waiting to start") != std::string::npos);
    CHECK(!a.ec);
    CHECK(!b.ec);
    CHECK(!after.ec);

    const bool all_done = co_await eventually([&] { return a.ec && b.ec && after.ec; }, 15s);
    REQUIRE(all_done);  // the withdrawn one held no place
    CHECK(!*a.ec);
    CHECK(!*b.ec);
    CHECK(!*after.ec);
    CHECK(manifest_requests(srv) == 3);  // A, B and the one after; never the cancelled one

    // Cancelling a running operation reaches its coroutine through the gate.
    coras::server::delay_fault stall;
    stall.before_headers = 5s;
    stall.path_contains = "/manifests/v1";
    srv.inject_delay(stall);
    outcome running;
    asio::cancellation_signal cancel_running;
    resolve_in_background(repo, running, cancel_running.slot());
    const bool sent = co_await eventually([&] { return manifest_requests(srv) == 4; });
    REQUIRE(sent);
    const auto emitted = std::chrono::steady_clock::now();
    cancel_running.emit(asio::cancellation_type::terminal);
    const bool ended = co_await eventually([&] { return running.ec.has_value(); });
    REQUIRE(ended);
    CHECK(*running.ec == asio::error::operation_aborted);
    CHECK(std::chrono::steady_clock::now() - emitted < 2s);  // not the rest of the 5 s stall
    srv.clear_faults();
  });
}

TEST_CASE("operations gate: 300 resolves through 3 places all complete, in order of start",
          "[remote][gate]") {
  with_registry({}, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    coras::http::client_options o;
    o.max_connections_per_origin = 3;
    client c(ex, o);
    auto repo = repo_on(c, srv, "gate");
    auto want = co_await coras::test::push_empty_image(repo, "v1");
    constexpr int n = 300;
    int done = 0;
    int right = 0;
    int in_order = 0;
    for (int i = 0; i < n; ++i)
      repo.async_resolve("v1", [&, i](boost::system::error_code ec, descriptor d) {
        right += !ec && d.digest == want.digest;
        // With one thread, the gate hands places out first come, first served.
        in_order += i < done + 3;
        ++done;
      });
    const bool finished = co_await eventually([&] { return done == n; }, 30s);
    CHECK(finished);
    CHECK(done == n);
    CHECK(right == n);
    CHECK(in_order == n);
    CHECK(c.stats().connections_opened <= 3);
  });
}

TEST_CASE("operations gate: an io_context destroyed with operations waiting frees them",
          "[remote][gate]") {
  // Run under ASan/LSan in CI: a queued operation (its handler, its
  // arguments, the repository state) must be freed with the io_context.
  int completed = 0;
  {
    asio::io_context ioc;
    coras::server::registry srv(ioc.get_executor(), {});
    srv.start();
    coras::http::client_options o;
    o.max_connections_per_origin = 1;
    client c(ioc.get_executor(), o);
    auto repo = repo_on(c, srv, "gate");
    coras::server::delay_fault stall;
    stall.before_headers = 5s;
    srv.inject_delay(stall);
    for (int i = 0; i < 20; ++i)
      repo.async_resolve("v1", [&](boost::system::error_code, descriptor) { ++completed; });
    ioc.run_for(100ms);
  }
  CHECK(completed == 0);
}

TEST_CASE("operations gate: callbacks bound to another io_context keep it running until called",
          "[remote][gate][executor]") {
  // The registry and the client on one io_context (its own thread), the
  // callbacks bound to another with nothing else to do: running and queued
  // operations alike keep that one busy until their callback ran.
  asio::io_context service;
  coras::server::registry srv(service.get_executor(), {});
  srv.start();
  auto keep = asio::make_work_guard(service);
  std::thread service_thread([&] { service.run(); });
  {
    coras::http::client_options o;
    o.max_connections_per_origin = 1;  // one runs, the others wait in the gate
    client c(service.get_executor(), o);
    auto repo = repo_on(c, srv, "gate");
    auto pushed = asio::co_spawn(
        service, [&]() { return coras::test::push_empty_image(repo, "v1"); }, asio::use_future);
    const auto want = pushed.get();
    asio::io_context caller;
    int right = 0;
    for (int i = 0; i < 3; ++i)
      repo.async_resolve(
          "v1", asio::bind_executor(caller, [&](boost::system::error_code ec, descriptor d) {
            right += !ec && d.digest == want.digest;
          }));
    caller.run();
    CHECK(right == 3);
  }
  asio::post(service, [&] { srv.stop(); });
  keep.reset();
  service_thread.join();
}

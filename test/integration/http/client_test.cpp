// The HTTP client against the embedded registry (in-process, same io_context):
// pooling, redirects, retries, time limits, cancellation, events, limits.
#include "http/client_impl.hpp"

#include <coras_test/embedded.hpp>
#include <coras_test/run.hpp>

#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <thread>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::http::client;
using coras::http::client_options;
using coras::http::request;
using coras::server::registry;
using coras::server::registry_options;
using namespace std::chrono_literals;

namespace {

using coras::test::with_registry;

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

request make(std::string method, std::string url) {
  request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

// Pushes a blob with a monolithic POST+PUT and returns its digest; the PUT's
// body is `body` when given, else the bytes in memory. `base`: the
// registry's URL as the client reaches it (srv.url() when empty).
asio::awaitable<coras::digest> push_blob(client& c, const registry& srv, const std::string& repo,
                                         const std::string& bytes,
                                         std::shared_ptr<coras::byte_source> body = nullptr,
                                         std::string base = {}) {
  if (base.empty()) base = srv.url();
  auto d = coras::digest::of(bytes);
  auto post = co_await c.async_send(make("POST", base + "/v2/" + repo + "/blobs/uploads/"));
  REQUIRE(post.status() == 202);
  std::string location(*post.headers().get("Location"));
  co_await post.async_read_all(1 << 16);
  if (location.front() == '/') location = base + location;
  auto put = make("PUT", location + (location.find('?') == std::string::npos ? "?" : "&") +
                             "digest=" + d.str());
  put.body = body ? body : coras::memory_source(bytes);
  auto done = co_await c.async_send(put);
  REQUIRE(done.status() == 201);
  co_await done.async_read_all(1 << 16);
  co_return d;
}

// A fault that holds the response head of `count` requests (whose path
// contains `path`, all when empty) for 3 s: past every short limit here.
coras::server::delay_fault header_stall(unsigned count = 1, std::string path = {}) {
  coras::server::delay_fault f;
  f.before_headers = 3s;
  f.count = count;
  f.path_contains = std::move(path);
  return f;
}

client_options fast_retries() {
  client_options o;
  o.retry.initial_backoff = 5ms;
  o.retry.max_backoff = 20ms;
  return o;
}

}  // namespace

TEST_CASE("client: k sequential requests use one connection", "[client][pool]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex);
    for (int i = 0; i < 200; ++i) {
      auto r = co_await c.async_send(make(i % 2 ? "HEAD" : "GET", srv.url() + "/v2/"));
      REQUIRE(r.status() == 200);
      co_await r.async_read_all(1024);
    }
    CHECK(srv.stats().connections_accepted == 1);
    CHECK(c.stats().connections_opened == 1);
    CHECK(c.stats().connections_reused == 199);
  });
}

TEST_CASE("client: a callback bound to another io_context keeps that one running until called",
          "[client][executor]") {
  // The registry and the client on one io_context (its own thread); the
  // callback bound to another that has nothing else to do: Asio's contract
  // is that the operation keeps work on the handler's executor until it
  // completes, so `caller.run()` returns only after the callback ran.
  asio::io_context service;
  registry srv(service.get_executor(), {});
  srv.start();
  auto keep = asio::make_work_guard(service);
  std::thread service_thread([&] { service.run(); });
  {
    client c(service.get_executor());
    asio::io_context caller;
    bool called = false;
    unsigned status = 0;
    c.async_send(make("GET", srv.url() + "/v2/"),
                 asio::bind_executor(caller, [&](coras::error_code ec, coras::http::response r) {
                   CHECK_FALSE(ec);
                   called = true;
                   status = r.status();
                 }));
    caller.run();
    CHECK(called);
    CHECK(status == 200);
  }
  asio::post(service, [&] { srv.stop(); });
  keep.reset();
  service_thread.join();
}

TEST_CASE("client: k concurrent requests open at most the per-origin limit", "[client][pool]") {
  for (std::size_t limit : {std::size_t(4), std::size_t(16)}) {
    INFO("limit " << limit);
    with_registry({}, [limit](auto ex, registry& srv) -> asio::awaitable<void> {
      client_options o;
      o.max_connections_per_origin = limit;
      client c(ex, o);
      // A slow answer keeps connections busy so that requests must queue.
      coras::server::delay_fault slow;
      slow.before_headers = 20ms;
      slow.count = 64;
      srv.inject_delay(slow);
      int ok = 0;
      auto one = [&]() -> asio::awaitable<void> {
        auto r = co_await c.async_send(make("GET", srv.url() + "/v2/"));
        co_await r.async_read_all(1024);
        ok += r.status() == 200;
      };
      // 64 coroutines at once on the same executor.
      auto done =
          std::make_shared<asio::steady_timer>(ex, std::chrono::steady_clock::time_point::max());
      int remaining = 64;
      for (int i = 0; i < 64; ++i)
        asio::co_spawn(ex, one(), [&, done](std::exception_ptr) {
          if (--remaining == 0) done->cancel();
        });
      co_await done->async_wait(as_tuple);
      CHECK(ok == 64);
      CHECK(srv.stats().connections_accepted <= limit);
      CHECK(c.stats().connections_opened <= limit);
      CHECK(c.stats().connections_opened >= 2);  // they did run in parallel
    });
  }
}

TEST_CASE("client: a pooled connection the server closed is replaced", "[client][pool]") {
  registry_options o;
  o.idle_timeout = 1s;
  with_registry(o, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex);
    auto r1 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    co_await r1.async_read_all(1024);
    asio::steady_timer t(ex, 1500ms);
    co_await t.async_wait(use_awaitable);
    auto r2 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(r2.status() == 200);
    CHECK(srv.stats().connections_accepted == 2);
  });
}

// timeouts.pool_peek_after: a connection back in the pool only just now is
// sent on without the peek, so a close that raced it fails one exchange
// before its response, which is retried on a new connection.
TEST_CASE("client: the pool peeks only at connections idle for pool_peek_after", "[client][pool]") {
  registry_options o;
  o.idle_timeout = 1s;
  for (auto peek_after : {0ms, 60'000ms}) {
    DYNAMIC_SECTION("timeouts.pool_peek_after " << peek_after.count() << " ms") {
      with_registry(o, [peek_after](auto ex, registry& srv) -> asio::awaitable<void> {
        client_options opts;
        opts.timeouts.pool_peek_after = peek_after;
        opts.retry.initial_backoff = 1ms;
        client c(ex, opts);
        auto r1 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
        co_await r1.async_read_all(1024);
        asio::steady_timer t(ex, 1500ms);  // the server closes it meanwhile
        co_await t.async_wait(use_awaitable);
        auto r2 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
        CHECK(r2.status() == 200);
        CHECK(srv.stats().connections_accepted == 2);
        // Peeked: the closed connection is never sent on (2 exchanges).
        // Not: one exchange fails on it before its response (3).
        CHECK(c.stats().requests == (peek_after == 0ms ? 2u : 3u));
      });
    }
  }
}

TEST_CASE("client: redirects keep Authorization on the same origin and drop it on another",
          "[client][redirect]") {
  asio::io_context ioc;
  registry_options other_opts;
  registry_options main_opts;
  main_opts.basic_auth = coras::server::credentials{"u", "p"};
  registry main_srv(ioc.get_executor(), main_opts);
  other_opts.storage = main_srv.storage();
  registry other(ioc.get_executor(), other_opts);
  main_srv.start();
  other.start();
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        try {
          client c(ioc.get_executor());
          const std::string auth = "Basic dTpw";  // u:p
          auto post = make("POST", main_srv.url() + "/v2/r/blobs/uploads/?digest=" +
                                       coras::digest::of("hello").str());
          post.headers.set("Authorization", auth);
          post.body = coras::memory_source(std::string("hello"));
          auto pushed = co_await c.async_send(post);
          CHECK(pushed.status() == 201);
          co_await pushed.async_read_all(1 << 16);

          main_srv.redirect_blob_gets(other.url());
          other.clear_request_log();
          auto get =
              make("GET", main_srv.url() + "/v2/r/blobs/" + coras::digest::of("hello").str());
          get.headers.set("Authorization", auth);
          auto resp = co_await c.async_send(get);
          CHECK(resp.status() == 200);
          CHECK(resp.url().rfind(other.url(), 0) == 0);
          // (co_await stays out of CHECK: GCC 12 mishandles temporaries of
          // co_await inside Catch's expression decomposition)
          auto body = co_await resp.async_read_all(1024);
          CHECK(body == "hello");
          auto log = other.recent_requests();
          REQUIRE(log.size() == 1);
          CHECK_FALSE(log[0].authorization);

          // Redirecting to itself: Authorization stays, and the loop ends at the limit.
          main_srv.redirect_blob_gets(main_srv.url());
          main_srv.clear_request_log();
          auto [ec, r] = co_await c.async_send(get, as_tuple);
          CHECK(ec == coras::errc::too_many_redirects);
          auto main_log = main_srv.recent_requests();
          CHECK(main_log.size() == 11);
          for (const auto& rec : main_log) CHECK(rec.authorization);
        } catch (...) {
          failure = std::current_exception();
        }
        main_srv.stop();
        other.stop();
      },
      asio::detached);
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

TEST_CASE("client: retries 503 and 429, honouring Retry-After", "[client][retry]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex, fast_retries());
    srv.inject_status({503, 2, "/v2/", "", ""});
    srv.clear_request_log();
    auto r = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(r.status() == 200);
    CHECK(srv.recent_requests().size() == 3);

    srv.inject_status({429, 1, "/v2/", "1", ""});
    auto start = std::chrono::steady_clock::now();
    auto r2 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(r2.status() == 200);
    CHECK(waited >= 1s);
    CHECK(waited < 3s);

    // A Retry-After beyond the caller's limit is not waited for.
    client_options impatient = fast_retries();
    impatient.retry.max_retry_after = 500ms;
    client c2(ex, impatient);
    srv.inject_status({429, 1, "/v2/", "30", ""});
    start = std::chrono::steady_clock::now();
    auto r3 = co_await c2.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(r3.status() == 429);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    co_await r3.async_read_all(1 << 16);

    // The retry budget runs out: the last answer comes back.
    srv.inject_status({503, 100, "/v2/", "", ""});
    srv.clear_request_log();
    auto r4 = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(r4.status() == 503);
    CHECK(srv.recent_requests().size() == 6);  // 1 + max_retries (5)
    co_await r4.async_read_all(1 << 16);
    srv.clear_faults();

    // POST is not idempotent: no retry unless asked.
    srv.inject_status({503, 1, "/uploads/", "", ""});
    srv.clear_request_log();
    auto p = co_await c.async_send(make("POST", srv.url() + "/v2/r/blobs/uploads/"));
    CHECK(p.status() == 503);
    CHECK(srv.recent_requests().size() == 1);
  });
}

TEST_CASE("client: connection failures before any response byte are retried", "[client][retry]") {
  asio::io_context ioc;
  std::uint16_t port = 0;
  {  // a port that was free a moment ago: every connect is refused
    asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v2/";
  int attempts = 0;
  client_options o = fast_retries();
  o.on_request = [&](const coras::http::request_event& e) {
    ++attempts;
    CHECK(e.status == 0);
    CHECK(e.error);
  };
  client c(ioc.get_executor(), o);
  coras::error_code got;
  c.async_send(make("GET", url), [&](coras::error_code ec, coras::http::response) { got = ec; });
  ioc.run();
  CHECK(got == asio::error::connection_refused);
  CHECK(attempts == 1 + o.retry.max_retries);

  // POST is not idempotent: one attempt only.
  attempts = 0;
  ioc.restart();
  c.async_send(make("POST", url), [&](coras::error_code ec, coras::http::response) { got = ec; });
  ioc.run();
  CHECK(got == asio::error::connection_refused);
  CHECK(attempts == 1);
}

TEST_CASE("client: time limits fire as errc::timeout", "[client][timeout]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client_options o;
    o.timeouts.response_header = 300ms;
    client c(ex, o);
    const auto stall = header_stall();
    srv.inject_delay(stall);
    auto start = std::chrono::steady_clock::now();
    auto [ec, r] = co_await c.async_send(make("GET", srv.url() + "/v2/"), as_tuple);
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(ec == coras::errc::timeout);
    CHECK(took >= 300ms);
    CHECK(took < 2s);

    // The error names the limit's option, so the user knows what to raise.
    srv.inject_delay(stall);
    std::string words;
    try {
      co_await c.async_send(make("GET", srv.url() + "/v2/"));
    } catch (const std::exception& e) {
      words = e.what();
    }
    CHECK(words.find("timed out after 300 ms (client_options::timeouts.response_header)") !=
          std::string::npos);

    // A body that stalls half-way trips the idle-body limit.
    client_options o2;
    o2.timeouts.body_idle = 300ms;
    client c2(ex, o2);
    auto d = co_await push_blob(c2, srv, "r", std::string(256 * 1024, 'x'));
    coras::server::delay_fault mid;
    mid.mid_body = 3s;
    mid.path_contains = "/blobs/sha256:";
    srv.inject_delay(mid);
    auto resp = co_await c2.async_send(make("GET", srv.url() + "/v2/r/blobs/" + d.str()));
    auto [ec2, body] = co_await resp.async_read_all(1 << 20, as_tuple);
    CHECK(ec2 == coras::errc::timeout);
  });
}

TEST_CASE("client: requests in flight together each time out at their own limit",
          "[client][timeout]") {
  // One timer serves all of a client's I/O limits (lib/http/deadlines.hpp):
  // a request whose deadline comes after the timer's wait must still time
  // out at its own, not at the first one's, and not be missed.
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client_options o;
    o.timeouts.response_header = 400ms;
    client c(ex, o);
    srv.inject_delay(header_stall(2, "/v2/stalled/"));
    const auto start = std::chrono::steady_clock::now();
    std::array<coras::error_code, 2> ecs;
    std::array<std::chrono::steady_clock::duration, 2> took{};
    auto done =
        std::make_shared<asio::steady_timer>(ex, std::chrono::steady_clock::time_point::max());
    int remaining = 2;
    auto stalled = [&](int i) -> asio::awaitable<void> {
      auto [ec, r] =
          co_await c.async_send(make("GET", srv.url() + "/v2/stalled/manifests/x"), as_tuple);
      ecs[i] = ec;
      took[i] = std::chrono::steady_clock::now() - start;
      if (--remaining == 0) done->cancel();
    };
    asio::co_spawn(ex, stalled(0), asio::detached);
    asio::steady_timer gap(ex, 200ms);
    co_await gap.async_wait(as_tuple);
    asio::co_spawn(ex, stalled(1), asio::detached);
    // Meanwhile quick requests arm and disarm their own limits.
    int quick = 0;
    for (int i = 0; i < 20; ++i) {
      auto r = co_await c.async_send(make("GET", srv.url() + "/v2/"));
      co_await r.async_read_all(1024);
      quick += r.status() == 200;
    }
    co_await done->async_wait(as_tuple);
    CHECK(quick == 20);
    CHECK(ecs[0] == coras::errc::timeout);
    CHECK(ecs[1] == coras::errc::timeout);
    CHECK(took[0] >= 400ms);
    CHECK(took[0] < 1s);
    CHECK(took[1] >= 600ms);  // 200 ms later than the first: its own deadline
    CHECK(took[1] < 1200ms);
  });
}

TEST_CASE("client: a client with nothing in flight keeps no timer waiting", "[client][timeout]") {
  // The limits' timer must not hold the io_context: with the default 60 s
  // limits, run() returns as soon as the last request is done.
  asio::io_context service;
  registry srv(service.get_executor(), {});
  srv.start();
  auto keep = asio::make_work_guard(service);
  std::thread service_thread([&] { service.run(); });
  {
    asio::io_context ioc;
    client c(ioc.get_executor());
    unsigned status = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 3; ++i) {
            auto r = co_await c.async_send(make("GET", srv.url() + "/v2/"));
            co_await r.async_read_all(1024);
            status = r.status();
          }
        },
        asio::detached);
    const auto start = std::chrono::steady_clock::now();
    ioc.run();
    CHECK(status == 200);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }
  asio::post(service, [&] { srv.stop(); });
  keep.reset();
  service_thread.join();
}

TEST_CASE("client: single_threaded runs on the executor itself, the default on a strand of it",
          "[client][executor]") {
  asio::io_context ioc;
  client_options o;
  client stranded(ioc.get_executor(), o);
  o.single_threaded = true;
  client direct(ioc.get_executor(), o);
  using io_executor = asio::io_context::executor_type;
  CHECK(stranded.impl()->strand().target<asio::strand<io_executor>>() != nullptr);
  CHECK(direct.impl()->strand().target<io_executor>() != nullptr);
}

TEST_CASE("client: cancelling a request closes its connection", "[client][cancel]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex);
    coras::server::delay_fault stall;
    stall.before_headers = 2s;
    srv.inject_delay(stall);
    asio::cancellation_signal signal;
    asio::steady_timer t(ex, 100ms);
    t.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
    auto start = std::chrono::steady_clock::now();
    auto [ec, r] = co_await c.async_send(make("GET", srv.url() + "/v2/"),
                                         asio::bind_cancellation_slot(signal.slot(), as_tuple));
    CHECK(ec == asio::error::operation_aborted);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    srv.clear_faults();
    auto ok = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(ok.status() == 200);
    CHECK(srv.stats().connections_accepted == 2);  // the cancelled one was not pooled
  });
}

TEST_CASE("client: events, streaming both ways, and the metadata limit", "[client][events]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    std::vector<coras::http::request_event> events;
    client_options o;
    o.on_request = [&](const coras::http::request_event& e) { events.push_back(e); };
    client c(ex, o);
    std::string blob(5 * 1024 * 1024 + 3, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 31 + 7);
    auto d = co_await push_blob(c, srv, "ev", blob);

    auto resp = co_await c.async_send(make("GET", srv.url() + "/v2/ev/blobs/" + d.str()));
    coras::digester h;
    std::string buf(100'000, '\0');
    for (;;) {
      auto [ec, n] = co_await resp.async_read_some(asio::buffer(buf), as_tuple);
      if (ec == asio::error::eof) break;
      REQUIRE_FALSE(ec);
      h.update(std::string_view(buf.data(), n));
    }
    CHECK(h.finish() == d);
    CHECK(resp.body_done());

    REQUIRE(events.size() == 3);
    CHECK(events[0].method == "POST");
    CHECK(events[0].status == 202);
    CHECK_FALSE(events[0].connection_reused);
    CHECK(events[1].method == "PUT");
    CHECK(events[1].request_body_bytes == blob.size());
    CHECK(events[1].connection_reused);
    CHECK(events[2].response_body_bytes == blob.size());
    CHECK(events[2].url == srv.url() + "/v2/ev/blobs/" + d.str());
    CHECK_FALSE(events[2].error);

    auto big = co_await c.async_send(make("GET", srv.url() + "/v2/ev/blobs/" + d.str()));
    auto [ec, s] = co_await big.async_read_all(c.options().max_metadata_bytes, as_tuple);
    CHECK(ec == coras::errc::size_limit_exceeded);
    CHECK(s.empty());
  });
}

namespace {
// A body whose size is not known up front: sent with Transfer-Encoding: chunked.
class unsized_source final : public coras::byte_source {
 public:
  explicit unsized_source(std::string bytes) : bytes_(std::move(bytes)) {}
  std::optional<std::uint64_t> size() const override { return std::nullopt; }
  asio::awaitable<std::size_t> read(asio::mutable_buffer buffer) override {
    // Odd piece sizes, so chunks of several lengths go out.
    const std::size_t n = std::min({buffer.size(), bytes_.size() - at_, std::size_t{40'000}});
    std::memcpy(buffer.data(), bytes_.data() + at_, n);
    at_ += n;
    co_return n;
  }

 private:
  std::string bytes_;
  std::size_t at_ = 0;
};
}  // namespace

TEST_CASE("client: a body of unknown size goes out chunked and arrives whole", "[client][body]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex);
    std::string blob(300'001, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7 + 3);
    std::shared_ptr<coras::byte_source> unsized = std::make_shared<unsized_source>(blob);
    const auto d = co_await push_blob(c, srv, "chunked", blob, unsized);
    auto got = co_await c.async_send(make("GET", srv.url() + "/v2/chunked/blobs/" + d.str()));
    REQUIRE(got.status() == 200);
    auto back = co_await got.async_read_all(1 << 20);
    CHECK(back == blob);
  });
}

// Beast 1.81 wrote a value with CRLF as it was: a second header (or a second
// request) of the value's choosing reached the server.
TEST_CASE("client: a header value with CR or LF is refused before anything is sent",
          "[client][security]") {
  with_registry({}, [](auto ex, registry& srv) -> asio::awaitable<void> {
    client c(ex);
    auto ok = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    co_await ok.async_read_all(1 << 16);
    const auto before = srv.stats().requests;
    auto req = make("GET", srv.url() + "/v2/");
    req.headers.set("Authorization", "Bearer t\r\nX-Injected: 1");
    coras::error_code code;
    std::string words;
    try {
      co_await c.async_send(req);
    } catch (const coras::error& e) {
      code = e.code();
      words = e.what();
    }
    CHECK(code == coras::errc::invalid_argument);
    CHECK_THAT(words, Catch::Contains("\"Authorization\""));
    CHECK(srv.stats().requests == before);
    // The client still works.
    auto again = co_await c.async_send(make("GET", srv.url() + "/v2/"));
    CHECK(again.status() == 200);
    co_await again.async_read_all(1 << 16);
  });
}

TEST_CASE("client: TLS to the embedded registry, counted on the server side", "[client][tls]") {
  const std::string certs = coras::test::env("CORAS_TEST_CERTS");
  registry_options o;
  o.tls_cert_file = certs + "/server.crt";
  o.tls_key_file = certs + "/server.key";
  with_registry(o, [&](auto ex, registry& srv) -> asio::awaitable<void> {
    client_options co;
    co.tls.ca_file = certs + "/ca.crt";
    client c(ex, co);
    const std::string base = "https://localhost:" + std::to_string(srv.port());
    for (int i = 0; i < 100; ++i) {
      auto r = co_await c.async_send(make("HEAD", base + "/v2/"));
      REQUIRE(r.status() == 200);
    }
    CHECK(srv.stats().connections_accepted == 1);
    CHECK(srv.stats().tls_handshakes == 1);

    // 127.0.0.1 is not a name in the certificate: refused, and not retried
    // (the same handshake would fail the same way).
    const auto accepted = srv.stats().connections_accepted;
    auto [ec, r] = co_await c.async_send(
        make("GET", "https://127.0.0.1:" + std::to_string(srv.port()) + "/v2/"), as_tuple);
    CHECK(ec);
    CHECK(srv.stats().connections_accepted == accepted + 1);

    // A client that does not trust the CA: one attempt, not six.
    client untrusting(ex);
    try {
      co_await untrusting.async_send(make("GET", base + "/v2/"), use_awaitable);
      FAIL("an untrusted certificate was accepted");
    } catch (const boost::system::system_error& e) {
      const std::string what = e.what();
      CHECK(what.find("certificate verify failed") != std::string::npos);
    }
    CHECK(srv.stats().connections_accepted == accepted + 2);

    // Time limits over TLS: the stalled request's socket is closed under
    // the TLS stream, which ends its read; the error names the option.
    client_options quick = co;
    quick.timeouts.response_header = 300ms;
    quick.timeouts.body_idle = 300ms;
    client impatient(ex, quick);
    srv.inject_delay(header_stall());
    const auto start = std::chrono::steady_clock::now();
    std::string words;
    try {
      co_await impatient.async_send(make("GET", base + "/v2/"));
    } catch (const coras::error& e) {
      CHECK(e.code() == coras::errc::timeout);
      words = e.what();
    }
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    CHECK(words.find("client_options::timeouts.response_header") != std::string::npos);
    auto d = co_await push_blob(impatient, srv, "tls", std::string(256 * 1024, 't'), nullptr, base);
    coras::server::delay_fault mid;
    mid.mid_body = 3s;
    mid.path_contains = "/blobs/sha256:";
    srv.inject_delay(mid);
    auto resp = co_await impatient.async_send(make("GET", base + "/v2/tls/blobs/" + d.str()));
    auto [ec2, body] = co_await resp.async_read_all(1 << 20, as_tuple);
    CHECK(ec2 == coras::errc::timeout);
    // And the client goes on: a new connection for the next request.
    auto ok = co_await impatient.async_send(make("GET", base + "/v2/"));
    CHECK(ok.status() == 200);
  });
}

namespace {

// A minimal HTTP proxy for the test: CONNECT tunnels, and absolute-form
// requests forwarded on a fresh upstream connection. Records what it saw.
struct test_proxy {
  asio::ip::tcp::acceptor acceptor;
  std::vector<std::string> request_lines;
  std::vector<std::string> heads;  // each request's whole header, as received

  explicit test_proxy(asio::any_io_executor ex)
      : acceptor(ex, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }

  static asio::awaitable<void> pipe(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
    char buf[16384];
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), as_tuple);
      if (ec) break;
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf, n), as_tuple);
      if (wec) break;
    }
    boost::system::error_code ignored;
    to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket accepted) {
    auto ex = accepted.get_executor();
    // Shared: the two directions of the pipe end at different times.
    auto client = std::make_shared<asio::ip::tcp::socket>(std::move(accepted));
    auto upstream = std::make_shared<asio::ip::tcp::socket>(ex);
    std::string head;
    auto [ec, n] =
        co_await asio::async_read_until(*client, asio::dynamic_buffer(head), "\r\n\r\n", as_tuple);
    if (ec) co_return;
    std::string line = head.substr(0, head.find("\r\n"));
    request_lines.push_back(line);
    heads.push_back(head.substr(0, n));
    std::string method = line.substr(0, line.find(' '));
    std::string target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    std::string hostport = target;
    std::string rest = head.substr(n);  // bytes read past the header
    head.resize(n);
    if (method != "CONNECT") {
      // http://host:port/path: connect there, send the request in origin form.
      hostport = target.substr(7, target.find('/', 7) - 7);
      std::string path = target.substr(target.find('/', 7));
      head.replace(0, line.size(), method + " " + path + line.substr(line.rfind(' ')));
    }
    asio::ip::tcp::resolver resolver(ex);
    auto colon = hostport.rfind(':');
    auto eps = co_await resolver.async_resolve(hostport.substr(0, colon),
                                               hostport.substr(colon + 1), use_awaitable);
    co_await asio::async_connect(*upstream, eps, use_awaitable);
    if (method == "CONNECT") {
      co_await asio::async_write(
          *client, asio::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")),
          use_awaitable);
    } else {
      co_await asio::async_write(*upstream, asio::buffer(head), use_awaitable);
    }
    if (!rest.empty()) co_await asio::async_write(*upstream, asio::buffer(rest), use_awaitable);
    asio::co_spawn(
        ex, [upstream, client]() { return pipe(*upstream, *client); }, asio::detached);
    co_await pipe(*client, *upstream);
  }

  asio::awaitable<void> run() {
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(as_tuple);
      if (ec) co_return;
      asio::co_spawn(acceptor.get_executor(), serve(std::move(s)), asio::detached);
    }
  }
};

}  // namespace

TEST_CASE("client: through an HTTP proxy (CONNECT for https, absolute form for http)",
          "[client][proxy]") {
  const std::string certs = coras::test::env("CORAS_TEST_CERTS");
  registry_options o;
  o.tls_cert_file = certs + "/server.crt";
  o.tls_key_file = certs + "/server.key";
  with_registry(o, [&](auto ex, registry& tls_srv) -> asio::awaitable<void> {
    test_proxy proxy(ex);
    asio::co_spawn(ex, proxy.run(), asio::detached);

    client_options co;
    co.tls.ca_file = certs + "/ca.crt";
    co.proxy = proxy.url();
    co.no_proxy = "bypass.invalid";
    client c(ex, co);
    const std::string base = "https://localhost:" + std::to_string(tls_srv.port());
    for (int i = 0; i < 3; ++i) {
      auto r = co_await c.async_send(make("GET", base + "/v2/"));
      CHECK(r.status() == 200);
      co_await r.async_read_all(1024);
    }
    REQUIRE(proxy.request_lines.size() == 1);  // one tunnel, reused
    CHECK(proxy.request_lines[0] ==
          "CONNECT localhost:" + std::to_string(tls_srv.port()) + " HTTP/1.1");

    // Plain http through the proxy: the request line carries the full URL.
    registry plain(ex, registry_options{});
    plain.start();
    auto r = co_await c.async_send(make("GET", plain.url() + "/v2/"));
    CHECK(r.status() == 200);
    REQUIRE(proxy.request_lines.size() == 2);
    CHECK(proxy.request_lines[1] == "GET " + plain.url() + "/v2/ HTTP/1.1");
    plain.stop();
    proxy.acceptor.close();

    // A proxy that is not http:// is refused up front.
    client_options bad;
    bad.proxy = "socks5://127.0.0.1:1080";
    CHECK_THROWS_AS(client(ex, bad), coras::error);
  });
}

namespace {

// An origin that records the header of the one request it answers.
struct recording_origin {
  asio::ip::tcp::acceptor acceptor;
  std::string head;
  explicit recording_origin(asio::any_io_executor ex)
      : acceptor(ex, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0)) {}
  asio::awaitable<void> answer_one() {
    auto s = co_await acceptor.async_accept(use_awaitable);
    const std::string end = "\r\n\r\n";
    co_await asio::async_read_until(s, asio::dynamic_buffer(head), end, use_awaitable);
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(ok), use_awaitable);
  }
};

}  // namespace

TEST_CASE("client: proxy credentials go to the proxy only", "[client][proxy][security]") {
  const std::string certs = coras::test::env("CORAS_TEST_CERTS");
  registry_options o;
  o.tls_cert_file = certs + "/server.crt";
  o.tls_key_file = certs + "/server.key";
  with_registry(o, [&](auto ex, registry& tls_srv) -> asio::awaitable<void> {
    test_proxy proxy(ex);
    asio::co_spawn(ex, proxy.run(), asio::detached);
    const std::string basic = "Proxy-Authorization: Basic YWxpY2U6czNjckB0\r\n";  // alice:s3cr@t
    client_options co;
    co.tls.ca_file = certs + "/ca.crt";
    co.proxy =
        "http://alice:s3cr%40t@127.0.0.1:" + std::to_string(proxy.acceptor.local_endpoint().port());
    co.no_proxy = "127.0.0.2";
    std::vector<std::string> logged;
    co.on_request = [&](const coras::http::request_event& e) { logged.push_back(e.url); };
    client c(ex, co);

    // https: on the CONNECT only (what follows is the origin's TLS).
    auto r = co_await c.async_send(
        make("GET", "https://localhost:" + std::to_string(tls_srv.port()) + "/v2/"));
    CHECK(r.status() == 200);
    co_await r.async_read_all(1024);
    REQUIRE(proxy.heads.size() == 1);
    CHECK(proxy.heads[0].starts_with("CONNECT "));
    CHECK(proxy.heads[0].find(basic) != std::string::npos);

    // http: on the absolute-form request to the proxy.
    registry plain(ex, registry_options{});
    plain.start();
    auto r2 = co_await c.async_send(make("GET", plain.url() + "/v2/"));
    CHECK(r2.status() == 200);
    co_await r2.async_read_all(1024);
    REQUIRE(proxy.heads.size() == 2);
    CHECK(proxy.heads[1].starts_with("GET " + plain.url() + "/v2/ "));
    CHECK(proxy.heads[1].find(basic) != std::string::npos);
    plain.stop();

    // An origin reached directly (NO_PROXY) never sees them.
    recording_origin direct(ex);
    asio::co_spawn(ex, direct.answer_one(), asio::detached);
    auto port = std::to_string(direct.acceptor.local_endpoint().port());
    auto r3 = co_await c.async_send(make("GET", "http://127.0.0.2:" + port + "/"));
    CHECK(r3.status() == 200);
    CHECK(direct.head.find("Proxy-Authorization") == std::string::npos);
    CHECK(proxy.heads.size() == 2);
    proxy.acceptor.close();

    // Not in the request log, nor in an error naming the proxy.
    for (const auto& url : logged) CHECK(url.find("s3cr") == std::string::npos);
    client_options closed;
    closed.proxy = "http://alice:s3cret@127.0.0.1:1";
    closed.retry.max_retries = 0;
    client dead(ex, closed);
    std::string message;
    try {
      co_await dead.async_send(make("GET", "http://example.invalid/"));
    } catch (const std::exception& e) {
      message = e.what();
    }
    CHECK_FALSE(message.empty());
    CHECK(message.find("s3cret") == std::string::npos);
  });
}

namespace {

// Answers every request on one connection with `response` (raw bytes), for
// what the registry never sends: Warning headers, chunked metadata.
asio::awaitable<void> canned_connection(asio::ip::tcp::socket s, std::string response) {
  std::string buf;
  for (;;) {
    auto [rec, n] =
        co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", as_tuple);
    if (rec) co_return;
    buf.erase(0, n);
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(response), as_tuple);
    if (wec) co_return;
  }
}

asio::awaitable<void> canned_server(asio::ip::tcp::acceptor& acceptor, std::string response) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(as_tuple);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), canned_connection(std::move(s), response),
                   asio::detached);
  }
}

// Answers one request a connection, then closes it without saying so (no
// `Connection: close`), as some servers and proxies do.
asio::awaitable<void> one_answer_server(asio::ip::tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(as_tuple);
    if (ec) co_return;
    std::string buf;
    auto [rec, n] =
        co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", as_tuple);
    if (rec) continue;
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    co_await asio::async_write(s, asio::buffer(response), as_tuple);
  }  // (the socket closes here)
}

}  // namespace

// timeouts.pool_peek_after's safety: a request sent without the peek is one
// that may go again (at once: a stale connection is not a retry), and an
// origin whose connections die unannounced is peeked at from its first such
// failure on.
TEST_CASE("client: a server closing connections unannounced costs one resend, then the peek",
          "[client][pool]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  asio::co_spawn(ioc, one_answer_server(acceptor), asio::detached);
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        client_options o;
        // A retry would wait 2.5-5 s: the resend below must not.
        o.retry.initial_backoff = 5s;
        auto pause = [&]() -> asio::awaitable<void> {  // the server's close arrives
          asio::steady_timer t(ioc.get_executor(), 50ms);
          co_await t.async_wait(use_awaitable);
        };
        auto gets = [&](client& c, int n) -> asio::awaitable<void> {  // each answered "ok"
          for (int i = 0; i < n; ++i) {
            auto r = co_await c.async_send(make("GET", base + "/v2/"));
            auto body = co_await r.async_read_all(16);
            CHECK(body == "ok");
            co_await pause();
          }
        };
        {
          client c(ioc.get_executor(), o);
          const auto start = std::chrono::steady_clock::now();
          co_await gets(c, 4);
          // The second GET went out unpeeked on the closed connection, failed
          // before its answer and was sent again at once; the third and
          // fourth peeked.
          CHECK(c.stats().requests == 5);
          CHECK(c.stats().connections_opened == 4);
          CHECK(std::chrono::steady_clock::now() - start < 2s);
        }
        {
          // Retries off: the stale connection still costs only the resend.
          auto no_retries = o;
          no_retries.retry.max_retries = 0;
          client c(ioc.get_executor(), no_retries);
          co_await gets(c, 2);
          CHECK(c.stats().requests == 3);
        }
        {
          // A request with a body is never sent without the peek: it could
          // not be sent again.
          client c(ioc.get_executor(), o);
          co_await gets(c, 1);
          auto post = make("POST", base + "/v2/a/blobs/uploads/");
          post.body = coras::memory_source(std::string("hello"));
          auto r2 = co_await c.async_send(post);
          CHECK(r2.status() == 200);
          CHECK(c.stats().requests == 2);
        }
      },
      [&](std::exception_ptr e) {
        failure = e;
        acceptor.close();  // on a failure too: the server's accept ends
      });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

TEST_CASE("client: Warning headers reach the handler; chunked metadata is bounded",
          "[client][warning]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  std::string chunk(1000, 'x');
  std::string response =
      "HTTP/1.1 200 OK\r\n"
      "Warning: 299 - \"this repository is deprecated\"\r\n"
      "Warning: 299 - \"second\"\r\n"
      "Warning: 199 - \"not for us\"\r\n"
      "Warning: garbage\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) response += "3e8\r\n" + chunk + "\r\n";
  response += "0\r\n\r\n";
  asio::co_spawn(ioc, canned_server(acceptor, response), asio::detached);

  std::vector<coras::http::warning> warnings;
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        client_options o;
        o.on_warning = [&](const coras::http::warning& w) { warnings.push_back(w); };
        client c(ioc.get_executor(), o);
        auto r = co_await c.async_send(make("GET", base + "/v2/a/tags/list"));
        CHECK_FALSE(r.content_length().has_value());
        auto [ec, body] = co_await r.async_read_all(4999, as_tuple);
        CHECK(ec == coras::errc::size_limit_exceeded);
        auto r2 = co_await c.async_send(make("GET", base + "/v2/a/tags/list"));
        auto all = co_await r2.async_read_all(5000);
        CHECK(all.size() == 5000);
        acceptor.close();
      },  // (not invoked here: co_spawn keeps the lambda, and its captures, alive)
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  REQUIRE(warnings.size() == 4);  // two per response
  CHECK(warnings[0].text == "this repository is deprecated");
  CHECK(warnings[1].text == "second");
  CHECK(warnings[0].url == base + "/v2/a/tags/list");
}

// Found by fuzz/http_response.cpp: a 1xx answer was taken as the response,
// and the final answer left in the connection became the next request's.
TEST_CASE("client: interim 1xx answers are skipped, the final one is the response",
          "[client][fuzz]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  asio::co_spawn(ioc,
                 canned_server(acceptor,
                               "HTTP/1.1 100 Continue\r\n\r\n"
                               "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n"
                               "Content-Length: 3\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"),
                 asio::detached);
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        client c(ioc.get_executor());
        for (int i = 0; i < 3; ++i) {  // on one connection: nothing left over
          auto r = co_await c.async_send(make("GET", base + "/v2/"));
          CHECK(r.status() == 200);
          auto body = co_await r.async_read_all(100);
          CHECK(body == "final");
        }
        CHECK(c.stats().connections_opened == 1);
        acceptor.close();
      },  // (not invoked here: co_spawn keeps the lambda, and its captures, alive)
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

namespace {

// 1 MiB + 7 bytes that are not the same from one position to the next.
std::string patterned_body() {
  std::string body((1 << 20) + 7, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131 % 251);
  return body;
}

// The body of `r` read 3 bytes at first, then 1 MiB at a time: the bytes
// that came with the head first, then from the stream, never past the end.
asio::awaitable<std::string> read_in_pieces(coras::http::response& r) {
  std::string got;
  std::vector<char> piece(1 << 20);
  for (std::size_t ask = 3;; ask = piece.size()) {
    auto [ec, n] = co_await r.async_read_some(asio::buffer(piece.data(), ask), as_tuple);
    if (ec == asio::error::eof) break;
    REQUIRE_FALSE(ec);
    got.append(piece.data(), n);
  }
  co_return got;
}

// One request head off `s` (false: the client went away).
asio::awaitable<bool> read_request(asio::ip::tcp::socket& s, std::string& buf) {
  auto [rec, n] =
      co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", as_tuple);
  buf.erase(0, n);
  co_return !rec;
}

// Writes `bytes`, then pauses, so that the client reads them separately.
asio::awaitable<void> send_piece(asio::ip::tcp::socket& s, std::string bytes) {
  co_await asio::async_write(s, asio::buffer(bytes), as_tuple);
  asio::steady_timer pause(s.get_executor(), 5ms);
  co_await pause.async_wait(as_tuple);
}

// Two answers on one connection, each in pieces: `body`, whose first bytes
// come with the header, then one that ends 60 bytes short.
asio::awaitable<void> piecewise_server(asio::ip::tcp::acceptor& acceptor, std::string body) {
  auto [aec, s] = co_await acceptor.async_accept(as_tuple);
  if (aec) co_return;
  std::string buf;
  if (!co_await read_request(s, buf)) co_return;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body.substr(0, 10);
  co_await send_piece(s, std::move(head));
  for (std::size_t at = 10; at < body.size(); at += 300'000) {
    std::string piece = body.substr(at, 300'000);
    co_await send_piece(s, std::move(piece));
  }
  if (!co_await read_request(s, buf)) co_return;
  std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body.substr(0, 40);
  co_await send_piece(s, std::move(cut));
  s.close();
}

}  // namespace

TEST_CASE("client: a sized body arrives whole in any read sizes, and one cut short is an error",
          "[client][body]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  const std::string body = patterned_body();
  asio::co_spawn(ioc, piecewise_server(acceptor, body), asio::detached);
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        client c(ioc.get_executor());
        auto r = co_await c.async_send(make("GET", base + "/v2/a/blobs/x"));
        CHECK(r.content_length() == body.size());
        std::string got = co_await read_in_pieces(r);
        CHECK(got == body);
        CHECK(r.body_done());
        // The connection went back to the pool: the next answer comes on it.
        auto r2 = co_await c.async_send(make("GET", base + "/v2/a/blobs/y"));
        auto [ec, rest] = co_await r2.async_read_all(1000, as_tuple);
        // Beast's partial_message, as when the parser read bodies.
        CHECK(ec);
        CHECK(ec != asio::error::eof);
        CHECK(ec.message() == "partial message");
        CHECK(c.stats().connections_opened == 1);
        acceptor.close();
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

namespace {

using tls_server_stream = asio::ssl::stream<asio::ip::tcp::socket>;

// One request head off `s` into `buf` (the rest of what was read stays).
asio::awaitable<std::string> read_tls_request(tls_server_stream& s, std::string& buf) {
  auto [ec, n] =
      co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", as_tuple);
  if (ec) co_return std::string();
  std::string head = buf.substr(0, n);
  buf.erase(0, n);
  co_return head;
}

asio::awaitable<void> send_tls_piece(tls_server_stream& s, std::string bytes) {
  co_await asio::async_write(s, asio::buffer(bytes), as_tuple);
  asio::steady_timer pause(s.get_executor(), 5ms);
  co_await pause.async_wait(as_tuple);
}

// A TLS server of three answers on one connection: `body` in pieces (its
// first bytes with the header); the size of a POST's body, after reading
// it; then an answer that stops 60 bytes short, the connection closed
// without close_notify.
asio::awaitable<void> tls_piecewise_server(asio::ip::tcp::acceptor& acceptor,
                                           asio::ssl::context& ctx, std::string body) {
  auto [aec, socket] = co_await acceptor.async_accept(as_tuple);
  if (aec) co_return;
  tls_server_stream s(std::move(socket), ctx);
  auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::server, as_tuple);
  if (hec) co_return;
  std::string buf;
  if ((co_await read_tls_request(s, buf)).empty()) co_return;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body.substr(0, 10);
  co_await send_tls_piece(s, std::move(head));
  for (std::size_t at = 10; at < body.size(); at += 300'000) {
    std::string piece = body.substr(at, 300'000);
    co_await send_tls_piece(s, std::move(piece));
  }
  const std::string post = co_await read_tls_request(s, buf);
  const auto at = post.find("Content-Length: ");
  if (at == std::string::npos) co_return;
  const std::size_t length = std::stoul(post.substr(at + 16));
  if (buf.size() < length) {
    auto [rec, rn] = co_await asio::async_read(
        s, asio::dynamic_buffer(buf), asio::transfer_exactly(length - buf.size()), as_tuple);
    if (rec) co_return;
  }
  const bool same = buf.substr(0, length) == body.substr(0, length);
  buf.erase(0, length);
  std::string answer = std::to_string(length) + (same ? " same" : " different");
  co_await send_tls_piece(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                                 "\r\n\r\n" + answer);
  if ((co_await read_tls_request(s, buf)).empty()) co_return;
  co_await send_tls_piece(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body.substr(0, 40));
  s.next_layer().close();  // no close_notify

  // A second connection: a body that ends with the connection, closed with
  // close_notify, is whole.
  auto [aec2, socket2] = co_await acceptor.async_accept(as_tuple);
  if (aec2) co_return;
  tls_server_stream s2(std::move(socket2), ctx);
  auto [hec2] = co_await s2.async_handshake(asio::ssl::stream_base::server, as_tuple);
  if (hec2) co_return;
  std::string buf2;
  if ((co_await read_tls_request(s2, buf2)).empty()) co_return;
  co_await send_tls_piece(s2, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  co_await s2.async_shutdown(as_tuple);
  s2.next_layer().close();
}

}  // namespace

TEST_CASE(
    "client: over TLS, a body arrives whole in any read sizes, a request body goes out "
    "whole, a connection cut without close_notify is an error, one closed with it is not",
    "[client][tls][body]") {
  const std::string certs = coras::test::env("CORAS_TEST_CERTS");
  asio::io_context ioc;
  asio::ssl::context server_ctx(asio::ssl::context::tls_server);
  server_ctx.use_certificate_chain_file(certs + "/server.crt");
  server_ctx.use_private_key_file(certs + "/server.key", asio::ssl::context::pem);
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string base = "https://localhost:" + std::to_string(acceptor.local_endpoint().port());
  const std::string body = patterned_body();
  asio::co_spawn(ioc, tls_piecewise_server(acceptor, server_ctx, body), asio::detached);
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        client_options o;
        o.tls.ca_file = certs + "/ca.crt";
        client c(ioc.get_executor(), o);
        auto r = co_await c.async_send(make("GET", base + "/v2/a/blobs/x"));
        std::string got = co_await read_in_pieces(r);
        CHECK(got == body);

        // 200,003 bytes out: several TLS writes of one request.
        auto post = make("POST", base + "/v2/a/blobs/uploads/");
        post.body = coras::memory_source(body.substr(0, 200'003));
        auto answer = co_await c.async_send(std::move(post));
        auto said = co_await answer.async_read_all(100);
        CHECK(said == "200003 same");

        auto cut = co_await c.async_send(make("GET", base + "/v2/a/blobs/y"));
        auto [ec, rest] = co_await cut.async_read_all(1000, as_tuple);
        CHECK(ec == asio::ssl::error::stream_truncated);
        CHECK(c.stats().connections_opened == 1);
        CHECK(c.stats().tls_handshakes == 1);

        auto closing = co_await c.async_send(make("GET", base + "/v2/a/blobs/z"));
        auto [cec, whole] = co_await closing.async_read_all(1000, as_tuple);
        CHECK_FALSE(cec);
        CHECK(whole == "until the end");
        acceptor.close();
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

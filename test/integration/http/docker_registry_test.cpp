// The HTTP client against Debian's docker-registry (CNCF distribution 2.8.2),
// started by test/fixtures/with-docker-registry in plain, TLS or basic-auth mode.
#include <coras_test/random_bytes.hpp>
#include <coras_test/run.hpp>
#include "core/base64.hpp"

#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <random>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::http::client;
using coras::http::client_options;
using coras::http::request;
using coras::test::env;
using coras::test::run;

namespace {

std::string base_url() { return env("CORAS_TEST_SCHEME") + "://" + env("CORAS_TEST_REGISTRY"); }

request get(std::string url, std::string method = "GET") {
  request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

// Reads a whole body in small pieces (exercises the streaming path).
asio::awaitable<std::string> read_streamed(coras::http::response& resp) {
  std::string out;
  char buf[1000];
  for (;;) {
    auto [ec, n] = co_await resp.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
    if (ec == asio::error::eof) break;
    if (ec) throw boost::system::system_error(ec);
    out.append(buf, n);
  }
  co_return out;
}

}  // namespace

TEST_CASE("docker-registry: ping, and 1000 sequential requests on one connection", "[plain]") {
  auto stats = run([](auto ex) -> asio::awaitable<coras::http::client_stats> {
    client c(ex);
    auto resp = co_await c.async_send(get(base_url() + "/v2/"));
    CHECK(resp.status() == 200);
    CHECK(resp.headers().get("Docker-Distribution-Api-Version") ==
          std::string_view("registry/2.0"));
    auto body = co_await resp.async_read_all(1024);
    CHECK(body == "{}");
    for (int i = 0; i < 1000; ++i) {
      auto r = co_await c.async_send(get(base_url() + "/v2/", "HEAD"));
      REQUIRE(r.status() == 200);
      REQUIRE(r.body_done());
    }
    co_return c.stats();
  });
  CHECK(stats.connections_opened == 1);
  CHECK(stats.requests == 1001);
  CHECK(stats.connections_reused == 1000);
}

TEST_CASE("docker-registry: streamed upload, download, Range, and error bodies", "[plain]") {
  run([](auto ex) -> asio::awaitable<void> {
    client c(ex);
    const std::string blob = coras::test::random_bytes(3 * 1024 * 1024 + 17, 42);
    const auto d = coras::digest::of(blob);
    const std::string repo = base_url() + "/v2/test/http";

    request post = get(repo + "/blobs/uploads/", "POST");
    auto started = co_await c.async_send(post);
    REQUIRE(started.status() == 202);
    auto location = std::string(*started.headers().get("Location"));
    co_await started.async_read_all(4096);

    request put =
        get(location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + d.str(),
            "PUT");
    put.headers.set("Content-Type", "application/octet-stream");
    put.body = coras::memory_source(blob);
    auto done = co_await c.async_send(put);
    CHECK(done.status() == 201);
    CHECK(done.headers().get("Docker-Content-Digest") == std::string_view(d.str()));

    auto got = co_await c.async_send(get(repo + "/blobs/" + d.str()));
    REQUIRE(got.status() == 200);
    CHECK(got.content_length() == blob.size());
    auto bytes = co_await read_streamed(got);
    CHECK(bytes.size() == blob.size());
    CHECK(coras::digest::of(bytes) == d);

    request ranged = get(repo + "/blobs/" + d.str());
    ranged.headers.set("Range", "bytes=1000-");
    auto part = co_await c.async_send(ranged);
    CHECK(part.status() == 206);
    CHECK(part.headers().get("Content-Range") ==
          std::string_view("bytes 1000-" + std::to_string(blob.size() - 1) + "/" +
                           std::to_string(blob.size())));
    auto tail = co_await part.async_read_all(blob.size());
    CHECK(tail == blob.substr(1000));

    // A metadata read is bounded.
    auto big = co_await c.async_send(get(repo + "/blobs/" + d.str()));
    auto [ec, text] = co_await big.async_read_all(1024, asio::as_tuple(use_awaitable));
    CHECK(ec == coras::errc::size_limit_exceeded);

    auto missing = co_await c.async_send(get(repo + "/manifests/nope"));
    CHECK(missing.status() == 404);
    auto err = coras::parse_registry_error(missing.status(), "GET", missing.url(),
                                           co_await missing.async_read_all(1 << 20));
    CHECK(err.code() == coras::errc::not_found);
    REQUIRE_FALSE(err.errors.empty());
    CHECK(err.errors[0].code == "MANIFEST_UNKNOWN");
  });
}

TEST_CASE("docker-registry over TLS: verification, reuse, resumption", "[tls]") {
  client_options with_ca;
  with_ca.tls.ca_file = env("CORAS_TEST_CERTS") + "/ca.crt";
  const std::string port =
      env("CORAS_TEST_REGISTRY").substr(env("CORAS_TEST_REGISTRY").find(':') + 1);

  SECTION("1000 sequential requests cost one connection and one handshake") {
    auto stats = run([&](auto ex) -> asio::awaitable<coras::http::client_stats> {
      client c(ex, with_ca);
      for (int i = 0; i < 1000; ++i) {
        auto r = co_await c.async_send(get(base_url() + "/v2/", "HEAD"));
        REQUIRE(r.status() == 200);
      }
      co_return c.stats();
    });
    CHECK(stats.connections_opened == 1);
    CHECK(stats.tls_handshakes == 1);
  }

  SECTION("a new connection resumes the TLS session") {
    auto stats = run([&](auto ex) -> asio::awaitable<coras::http::client_stats> {
      auto opts = with_ca;
      opts.timeouts.pool_idle = std::chrono::milliseconds(1);  // every request opens a connection
      client c(ex, opts);
      for (int i = 0; i < 3; ++i) {
        auto r = co_await c.async_send(get(base_url() + "/v2/"));
        co_await r.async_read_all(1024);
        asio::steady_timer t(ex, std::chrono::milliseconds(5));
        co_await t.async_wait(use_awaitable);
      }
      co_return c.stats();
    });
    CHECK(stats.connections_opened == 3);
    CHECK(stats.tls_handshakes == 3);
    CHECK(stats.tls_resumed == 2);
  }

  SECTION("a name the certificate lacks is refused; skip-verify is opt-in") {
    run([&](auto ex) -> asio::awaitable<void> {
      client strict(ex, with_ca);
      auto [ec, r] = co_await strict.async_send(get("https://127.0.0.1:" + port + "/v2/"),
                                                asio::as_tuple(use_awaitable));
      CHECK(ec);
      CHECK(ec.category().name() == std::string("asio.ssl"));

      client untrusting(ex);  // system trust only: the throw-away CA is unknown
      auto [ec2, r2] =
          co_await untrusting.async_send(get(base_url() + "/v2/"), asio::as_tuple(use_awaitable));
      CHECK(ec2);

      client_options skip;
      skip.tls.insecure_skip_verify = true;
      client lax(ex, skip);
      auto ok = co_await lax.async_send(get("https://127.0.0.1:" + port + "/v2/"));
      CHECK(ok.status() == 200);
    });
  }
}

TEST_CASE("docker-registry with basic auth: 401 challenge, then 200", "[basic]") {
  run([](auto ex) -> asio::awaitable<void> {
    client c(ex);
    auto anon = co_await c.async_send(get(base_url() + "/v2/"));
    CHECK(anon.status() == 401);
    auto challenge = anon.headers().get("WWW-Authenticate");
    REQUIRE(challenge);
    CHECK_THAT(std::string(*challenge), Catch::StartsWith("Basic realm="));
    co_await anon.async_read_all(1 << 16);

    // (The auth layer builds this header; here it is written by hand.)
    auto req = get(base_url() + "/v2/");
    std::string creds = env("CORAS_TEST_USER") + ":" + env("CORAS_TEST_PASS");
    req.headers.set("Authorization", "Basic " + coras::detail::base64_encode(creds));
    auto ok = co_await c.async_send(req);
    CHECK(ok.status() == 200);
  });
}

TEST_CASE("docker-registry with mutual TLS: a client certificate is required and sent", "[mtls]") {
  run([](auto ex) -> asio::awaitable<void> {
    const std::string certs = env("CORAS_TEST_CERTS");
    client_options o;
    o.tls.ca_file = certs + "/ca.crt";
    client anonymous(ex, o);
    auto [ec, r] =
        co_await anonymous.async_send(get(base_url() + "/v2/"), asio::as_tuple(use_awaitable));
    CHECK(ec);  // the registry refuses the handshake (or the first read) without a certificate

    o.tls.client_cert_file = certs + "/client.crt";
    o.tls.client_key_file = certs + "/client.key";
    client with_cert(ex, o);
    auto ok = co_await with_cert.async_send(get(base_url() + "/v2/"));
    CHECK(ok.status() == 200);
  });

  client_options broken;
  broken.tls.client_cert_file = "/nonexistent/client.crt";
  broken.tls.client_key_file = "/nonexistent/client.key";
  asio::io_context ioc;
  CHECK_THROWS_AS(client(ioc.get_executor(), broken), coras::error);
}

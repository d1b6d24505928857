// Authentication against the embedded registry (in-process): Basic, bearer
// tokens with scopes, one token fetch for many concurrent requests, expiry,
// a token the registry forgot, OAuth2 refresh tokens, and what must never
// receive credentials.
#include <coras_test/embedded.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>

#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::diagnostics;
using coras::errc;
using coras::auth::credential;
using coras::http::client;
using coras::http::client_options;
using coras::remote::repository;
using coras::server::registry_options;
using coras::test::repo_on;
using namespace std::chrono_literals;

namespace {

using coras::test::with_registry;

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

std::size_t count(const coras::server::registry& srv, std::string_view method,
                  std::string_view path) {
  std::size_t n = 0;
  for (const auto& r : srv.recent_requests())
    if (r.method == method && r.target.find(path) != std::string::npos) ++n;
  return n;
}

client_options with_credentials(const coras::server::registry& srv, credential c) {
  client_options o;
  o.auth = coras::auth::make_authorizer(coras::auth::static_credentials(srv.host(), std::move(c)));
  return o;
}

}  // namespace

TEST_CASE("auth: basic credentials answer a Basic challenge once, then go up front",
          "[auth][basic]") {
  registry_options o;
  o.basic_auth = coras::server::credentials{"alice", "s3cret"};
  with_registry(o, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    // Anonymous: 401 is the answer.
    client anonymous(ex);
    diagnostics d;
    auto [e1, t1] = co_await repo_on(anonymous, srv, "a/b").async_list_tags(d, as_tuple);
    CHECK(e1 == errc::unauthorized);

    client c(ex, with_credentials(srv, {"alice", "s3cret", "", ""}));
    auto repo = repo_on(c, srv, "a/b");
    srv.clear_request_log();
    auto desc = co_await repo.async_push_bytes("application/octet-stream", "hello");
    for (int i = 0; i < 5; ++i) co_await repo.async_exists(desc);
    // One 401 for the first request; every later one carries the credential.
    std::size_t unauthorized = 0;
    for (const auto& r : srv.recent_requests()) unauthorized += r.status == 401;
    CHECK(unauthorized == 1);

    // Wrong credentials: one retry, then the 401 stands (no loop).
    client wrong(ex, with_credentials(srv, {"alice", "nope", "", ""}));
    srv.clear_request_log();
    auto [e2, t2] = co_await repo_on(wrong, srv, "a/b").async_exists(desc, d, as_tuple);
    CHECK(e2 == errc::unauthorized);
    CHECK(srv.recent_requests().size() == 2);
  });
}

TEST_CASE("auth: anonymous bearer tokens need an authorizer, and make_authorizer() gets them",
          "[auth][token]") {
  registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  o.anonymous_pull = true;
  with_registry(o, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    // The content, pushed with credentials.
    client pusher(ex, with_credentials(srv, {"bob", "pw", "", ""}));
    auto desc = co_await repo_on(pusher, srv, "open/app")
                    .async_push_bytes("application/octet-stream", "public bytes");

    // No authorizer: the client sends requests as they are; the 401 stands.
    client bare(ex);
    diagnostics d;
    auto [e1, b1] = co_await repo_on(bare, srv, "open/app").async_fetch_bytes(desc, d, as_tuple);
    CHECK(e1 == errc::unauthorized);

    // An authorizer without credentials fetches an anonymous pull token.
    coras::http::client_options anonymous;
    anonymous.auth = coras::auth::make_authorizer();
    client c(ex, anonymous);
    auto bytes = co_await repo_on(c, srv, "open/app").async_fetch_bytes(desc);
    CHECK(bytes == "public bytes");
    CHECK(c.stats().tokens_fetched == 1);
  });
}

TEST_CASE("auth: bearer tokens: scopes, one fetch for 100 concurrent requests", "[auth][token]") {
  registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  with_registry(o, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    client c(ex, with_credentials(srv, {"bob", "pw", "", ""}));
    auto repo = repo_on(c, srv, "team/app");
    auto desc = co_await repo.async_push_bytes("application/octet-stream", "content");
    CHECK(c.stats().tokens_fetched == 1);  // pull,push for team/app

    // 100 concurrent pulls need another scope set (pull): one fetch.
    auto fresh = repo_on(client(ex, with_credentials(srv, {"bob", "pw", "", ""})), srv, "team/app");
    srv.clear_request_log();
    std::vector<asio::awaitable<void>> pulls;
    for (int i = 0; i < 100; ++i)
      pulls.push_back([](repository r, coras::descriptor d) -> asio::awaitable<void> {
        auto got = co_await r.async_fetch_bytes(d);
        if (got != "content") throw std::runtime_error("wrong content");
      }(fresh, desc));
    co_await coras::test::run_all(std::move(pulls));
    CHECK(fresh.client().stats().tokens_fetched == 1);
    CHECK(count(srv, "GET", "/token") == 1);

    // A mount asks pull on the source too; the catalog asks registry:catalog:*.
    auto other = repo_on(c, srv, "team/other");
    co_await other.async_mount(desc, "team/app", nullptr);
    coras::remote::registry_options ro;
    ro.plain_http = true;
    coras::remote::registry reg(c, srv.host(), ro);
    srv.clear_request_log();
    auto names = co_await reg.async_list_repositories();
    CHECK(names.size() == 2);
    auto log = srv.recent_requests();
    REQUIRE(!log.empty());
    bool catalog_scope = false;
    for (const auto& r : log)
      if (r.target.find("/token") == 0 &&
          r.target.find("registry%3Acatalog%3A%2A") != std::string::npos)
        catalog_scope = true;
    CHECK(catalog_scope);
  });
}

TEST_CASE("auth: expiry, a token the registry forgot, and refresh tokens", "[auth][token]") {
  registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  o.token_lifetime = 1s;
  std::uint16_t port = 0;
  auto storage = coras::server::make_memory_storage();
  o.storage = storage;
  with_registry(o, [&](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    port = srv.port();
    client c(ex, with_credentials(srv, {"bob", "pw", "", ""}));
    auto repo = repo_on(c, srv, "exp/app");
    auto desc = co_await repo.async_push_bytes("application/octet-stream", "x");
    co_await repo.async_exists(desc);
    CHECK(c.stats().tokens_fetched == 2);  // pull,push then pull
    asio::steady_timer t(ex, 1200ms);
    co_await t.async_wait(use_awaitable);
    // Expired (1 s): fetched again before the request, not after a 401.
    srv.clear_request_log();
    co_await repo.async_exists(desc);
    CHECK(c.stats().tokens_fetched == 3);
    std::size_t unauthorized = 0;
    for (const auto& r : srv.recent_requests()) unauthorized += r.status == 401;
    CHECK(unauthorized == 0);

    // OAuth2: a refresh token (got by the password grant) is exchanged by POST.
    coras::http::request get_refresh;
    get_refresh.method = "POST";
    get_refresh.url = srv.url() + "/token";
    get_refresh.headers.set("Content-Type", "application/x-www-form-urlencoded");
    get_refresh.body = coras::memory_source(
        "grant_type=password&username=bob&password=pw&service=coras&access_type=offline");
    auto resp = co_await c.async_send(get_refresh);
    auto json = co_await resp.async_read_all(1 << 16);
    auto at = json.find("\"refresh_token\":\"");
    REQUIRE(at != std::string::npos);
    auto refresh = json.substr(at + 17, json.find('"', at + 17) - at - 17);
    client oauth(ex, with_credentials(srv, {"", "", refresh, ""}));
    srv.clear_request_log();
    auto got = co_await repo_on(oauth, srv, "exp/app").async_fetch_bytes(desc);
    CHECK(got == "x");
    CHECK(count(srv, "POST", "/token") == 1);
    CHECK(count(srv, "GET", "/token") == 0);
  });
}

TEST_CASE("auth: a cached token the registry refuses is refreshed once", "[auth][token]") {
  asio::io_context ioc;
  registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  o.storage = coras::server::make_memory_storage();
  auto first = std::make_unique<coras::server::registry>(ioc.get_executor(), o);
  first->start();
  const auto host = first->host();
  o.port = first->port();
  client c(ioc.get_executor(), [&] {
    client_options co;
    co.auth =
        coras::auth::make_authorizer(coras::auth::static_credentials(host, {"bob", "pw", "", ""}));
    return co;
  }());
  auto repo = repository(c, host + "/again/app", [] {
    coras::remote::repository_options ro;
    ro.plain_http = true;
    return ro;
  }());
  std::unique_ptr<coras::server::registry> second;
  auto fut = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto desc = co_await repo.async_push_bytes("application/octet-stream", "x");
        co_await repo.async_exists(desc);
        const auto before = c.stats().tokens_fetched;
        // The registry restarts and forgets every token it issued.
        first->stop();
        second = std::make_unique<coras::server::registry>(ioc.get_executor(), o);
        second->start();
        auto exists = co_await repo.async_exists(desc);
        CHECK(exists);
        CHECK(c.stats().tokens_fetched == before + 1);
        std::size_t unauthorized = 0;
        for (const auto& r : second->recent_requests()) unauthorized += r.status == 401;
        CHECK(unauthorized == 1);
        second->stop();
      },
      asio::use_future);
  ioc.run();
  fut.get();
}

TEST_CASE("auth: what never gets credentials", "[auth][safety]") {
  // A challenge from another origin (where a redirect led) is not answered.
  auto storage = coras::server::make_memory_storage();
  registry_options guarded;
  guarded.storage = storage;
  guarded.basic_auth = coras::server::credentials{"alice", "s3cret"};
  registry_options open;
  open.storage = storage;
  with_registry(open, [&](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    coras::server::registry elsewhere(ex, guarded);
    elsewhere.start();
    bool asked_for_elsewhere = false;
    client_options co;
    co.auth = coras::auth::make_authorizer(
        coras::auth::callback_credentials([&](std::string_view registry) {
          if (registry == elsewhere.host()) asked_for_elsewhere = true;
          return credential{"alice", "s3cret", "", ""};
        }));
    client c(ex, co);
    auto repo = repo_on(c, srv, "safe/app");
    auto desc = co_await repo.async_push_bytes("application/octet-stream", "secret stuff");
    srv.redirect_blob_gets(elsewhere.url());
    diagnostics d;
    auto [ec, bytes] = co_await repo.async_fetch_bytes(desc, d, as_tuple);
    CHECK(ec == errc::unauthorized);
    CHECK_FALSE(asked_for_elsewhere);
    for (const auto& r : elsewhere.recent_requests()) CHECK_FALSE(r.authorization);
    elsewhere.stop();
  });

  // A TLS registry naming a plain-HTTP token realm is refused before any
  // credential goes out.
  const std::string certs = coras::test::env("CORAS_TEST_CERTS");
  registry_options tls;
  tls.tls_cert_file = certs + "/server.crt";
  tls.tls_key_file = certs + "/server.key";
  tls.token_auth = coras::server::credentials{"bob", "pw"};
  tls.token_realm = "http://127.0.0.1:9/token";
  with_registry(tls, [&](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    client_options co;
    co.tls.ca_file = certs + "/ca.crt";
    co.auth = coras::auth::make_authorizer(coras::auth::static_credentials(
        "localhost:" + std::to_string(srv.port()), {"bob", "pw", "", ""}));
    client c(ex, co);
    repository repo(c, "localhost:" + std::to_string(srv.port()) + "/tls/app");
    diagnostics d;
    auto [ec, tags] = co_await repo.async_list_tags(d, as_tuple);
    CHECK(ec == errc::unauthorized);
    CHECK(d.message().find("downgrades https to http") != std::string::npos);
  });
}

TEST_CASE("auth: a body is sent again after the 401 that asked for a token", "[auth][token]") {
  registry_options o;
  o.token_auth = coras::server::credentials{"bob", "pw"};
  with_registry(o, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    client c(ex, with_credentials(srv, {"bob", "pw", "", ""}));
    auto repo = repo_on(c, srv, "resend/app");
    // The very first request is a manifest PUT with a body: 401, token, PUT again.
    const std::string json =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
    auto desc = co_await repo.async_push_bytes("application/vnd.oci.image.index.v1+json", json);
    auto back = co_await repo.async_fetch_bytes(desc);
    CHECK(back == json);
    std::size_t puts = 0, unauthorized = 0;
    for (const auto& r : srv.recent_requests()) {
      puts += r.method == "PUT";
      unauthorized += r.status == 401;
    }
    CHECK(puts == 2);
    CHECK(unauthorized == 1);
  });
}

TEST_CASE("auth: a token realm that redirects to another origin gets no secret",
          "[auth][token][safety]") {
  // Issue 17, item 1: the token request carries a password (Basic header, or
  // the password grant's form) or a refresh token (the refresh grant's form);
  // a 307 would re-send the form body as it is. The redirect is refused.
  struct scenario {
    std::string name;
    credential cred;
  };
  const std::vector<scenario> scenarios = {
      {"refresh token in a POST form", {"", "", "the-refresh-token", ""}},
      {"password in a Basic header", {"bob", "pw", "", ""}},
  };
  for (const auto& sc : scenarios) {
    DYNAMIC_SECTION(sc.name) {
      registry_options o;
      o.token_auth = coras::server::credentials{"bob", "pw"};
      with_registry(o, [&](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
        coras::server::registry elsewhere(ex, registry_options{});
        elsewhere.start();
        coras::server::header_fault moved;
        moved.path_contains = "/token";
        moved.set = {{"Location", elsewhere.url() + "/token"}};
        srv.inject_headers(moved);
        coras::server::status_fault redirect;
        redirect.status = 307;
        redirect.path_contains = "/token";
        srv.inject_status(redirect);

        client c(ex, with_credentials(srv, sc.cred));
        auto repo = repo_on(c, srv, "realm/app");
        diagnostics d;
        auto [ec, tags] = co_await repo.async_list_tags(d, as_tuple);
        CHECK(ec == errc::denied);
        INFO(d.message());
        CHECK(d.message().find(srv.url()) != std::string::npos);
        CHECK(d.message().find(elsewhere.url()) != std::string::npos);
        CHECK(elsewhere.recent_requests().empty());
        elsewhere.stop();
      });
    }
  }
}

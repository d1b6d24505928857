// Authentication against Debian's docker-registry (distribution 2.8.2):
// htpasswd Basic auth ([basic]) and `auth: token` with the test suite's own
// JWT issuer ([token], test/fixtures/token-issuer.py). Started by
// test/fixtures/with-docker-registry.
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>

#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <atomic>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::descriptor;
using coras::diagnostics;
using coras::errc;
using coras::auth::credential;
using coras::http::client;
using coras::remote::repository;
using coras::test::env;
using coras::test::run;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

client client_as(asio::any_io_executor ex, std::string user, std::string pass) {
  coras::http::client_options o;
  if (!user.empty())
    o.auth = coras::auth::make_authorizer(coras::auth::static_credentials(
        env("CORAS_TEST_REGISTRY"), credential{user, pass, "", ""}));
  return client(ex, o);
}

repository repo(const client& c, std::string name) {
  coras::remote::repository_options o;
  o.plain_http = env("CORAS_TEST_SCHEME") == "http";
  return repository(c, env("CORAS_TEST_REGISTRY") + "/" + name, o);
}

std::string unique(std::string_view stem) {
  static std::atomic<int> n{0};
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

}  // namespace

TEST_CASE("auth vs docker-registry: htpasswd Basic auth", "[basic]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto anonymous = client_as(ex, "", "");
    diagnostics d;
    auto [e1, t1] = co_await repo(anonymous, "basic/x").async_list_tags(d, as_tuple);
    CHECK(e1 == errc::unauthorized);
    auto wrong = client_as(ex, env("CORAS_TEST_USER"), "wrong");
    auto [e2, t2] = co_await repo(wrong, "basic/x").async_list_tags(d, as_tuple);
    CHECK(e2 == errc::unauthorized);

    auto c = client_as(ex, env("CORAS_TEST_USER"), env("CORAS_TEST_PASS"));
    auto r = repo(c, unique("basic/app"));
    const auto bytes = coras::test::random_bytes(100'000, 3);
    auto desc = co_await r.async_push_bytes("application/octet-stream", bytes);
    auto back = co_await r.async_fetch_bytes(desc);
    CHECK(coras::test::same(back, bytes));
  });
}

TEST_CASE("auth vs docker-registry: bearer tokens and their scopes", "[token]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto pusher = client_as(ex, env("CORAS_TEST_PUSH_USER"), env("CORAS_TEST_PUSH_PASS"));
    const auto name = unique("tok/app");
    auto r = repo(pusher, name);
    const auto bytes = coras::test::random_bytes(50'000, 4);
    auto desc = co_await r.async_push_bytes("application/octet-stream", bytes);
    auto exists = co_await r.async_exists(desc);
    CHECK(exists);

    // A pull-only user reads but cannot push.
    auto puller = client_as(ex, env("CORAS_TEST_PULL_USER"), env("CORAS_TEST_PULL_PASS"));
    auto pr = repo(puller, name);
    auto got = co_await pr.async_fetch_bytes(desc);
    CHECK(coras::test::same(got, bytes));
    diagnostics d;
    auto [e1, p1] = co_await pr.async_push_bytes("application/octet-stream", "nope", d, as_tuple);
    CHECK(e1 == errc::unauthorized);

    // Anonymous: public/ only.
    auto anonymous = client_as(ex, "", "");
    auto [e2, p2] = co_await repo(anonymous, name).async_exists(desc, d, as_tuple);
    CHECK(e2 == errc::unauthorized);

    // A mount across two repositories asks pull on the source in the same token.
    auto other = repo(pusher, unique("tok/other"));
    co_await other.async_mount(desc, name, nullptr);
    auto mounted = co_await other.async_fetch_bytes(desc);
    CHECK(coras::test::same(mounted, bytes));

    // The catalog needs registry:catalog:*, which pusher has.
    coras::remote::registry_options ro;
    ro.plain_http = true;
    coras::remote::registry reg(pusher, env("CORAS_TEST_REGISTRY"), ro);
    auto names = co_await reg.async_list_repositories();
    CHECK(std::count(names.begin(), names.end(), name) == 1);
    // Tokens were fetched per scope set, not per request.
    CHECK(pusher.stats().tokens_fetched <= 6);
  });
}

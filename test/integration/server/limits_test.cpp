// Issue 17, items 10-12: `coras serve` against hostile clients. Each flood
// runs against the in-process registry and measures this process's RSS
// (support.hpp `rss_kib`), then checks that a fresh client still gets `/v2/`
// answered within a second. Counts are sized to run in seconds on 2 cores.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace coras::test;
using coras::server::credentials;
using coras::server::registry_options;

TEST_CASE("limits: 50,000 anonymous token requests cost no memory", "[server][limits]") {
  registry_options o;
  o.token_auth = credentials{"bob", "hunter2"};
  o.anonymous_pull = true;
  running_registry reg(o);
  auto c = reg.client();
  // Warm up (first allocations of the connection, the strand, the log).
  for (int i = 0; i < 500; ++i) c.get("/token?service=coras&scope=repository:r:pull");
  const auto before = rss_kib();
  std::string last;
  for (int i = 0; i < 50'000; ++i) {
    auto r = c.get("/token?service=coras&scope=repository:lib/app" + std::to_string(i) + ":pull");
    REQUIRE(r.status == 200);
    if (i == 49'999) last = r.body;
  }
  const auto grown = rss_kib() - std::min(before, rss_kib());
  INFO("RSS grew by " << grown << " KiB");
  // A store keeping every token grows by tens of MiB here.
  CHECK(grown < 4 * 1024);
  CHECK(fresh_v2_ms(reg.port()) < 1000);
  // The last token still works.
  const auto p = last.find("\"token\":\"") + 9;
  const auto token = last.substr(p, last.find('"', p) - p);
  CHECK(c.get("/v2/lib/app49999/tags/list", {{"Authorization", "Bearer " + token}}).status == 404);
}

TEST_CASE("limits: the token realm never comes from the Host header", "[server][limits]") {
  registry_options o;
  o.token_auth = credentials{"bob", "hunter2"};
  running_registry reg(o);
  auto c = reg.client();
  const auto r = c.get("/v2/", {{"Host", "attacker.example"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") ==
        "Bearer realm=\"http://127.0.0.1:" + std::to_string(reg.port()) +
            "/token\",service=\"coras\"");
  o.token_realm = "https://auth.example/token";
  running_registry configured(o);
  auto c2 = configured.client();
  CHECK(c2.get("/v2/", {{"Host", "attacker.example"}}).header("WWW-Authenticate") ==
        "Bearer realm=\"https://auth.example/token\",service=\"coras\"");
}

#include "auth/challenge.hpp"

#include <catch2/catch.hpp>

using namespace coras::auth::detail;

namespace {
std::vector<challenge> parse(std::string_view v, std::string* why = nullptr) {
  std::string_view values[] = {v};
  return parse_challenges(values, why);
}
}  // namespace

TEST_CASE("auth: WWW-Authenticate challenges", "[auth]") {
  auto c = parse(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "https://auth.docker.io/token");
  CHECK(c[0].param("service") == "registry.docker.io");
  CHECK(c[0].param("scope") == "repository:library/alpine:pull");

  // Unquoted values, odd spacing and case, escapes.
  c = parse(
      R"(bEaReR  Realm=https://r/token , Service = "a \"quoted\" one",error=insufficient_scope)");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("realm") == "https://r/token");
  CHECK(c[0].param("service") == R"(a "quoted" one)");
  CHECK(c[0].param("error") == "insufficient_scope");

  // Several challenges in one value, and over several values.
  c = parse(R"(Basic realm="r1", Bearer realm="https://t",service=s)");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].param("realm") == "r1");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].param("service") == "s");
  std::string_view two[] = {R"(Basic realm="x")", R"(Bearer realm="y")"};
  CHECK(parse_challenges(two).size() == 2);

  // A token68 is skipped.
  c = parse("Negotiate abc==, Basic realm=x");
  REQUIRE(c.size() == 2);
  CHECK(c[1].scheme == "basic");
}

// Found by fuzz/challenge.cpp: a challenge without parameters followed by a
// comma stopped the list there ("unexpected ','"), losing the Bearer
// challenge after it.
TEST_CASE("auth: a challenge without parameters does not end the list", "[auth][fuzz]") {
  std::string why;
  auto c = parse(R"(Basic, Bearer realm="r",service=s)", &why);
  CHECK(why.empty());
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].params.empty());
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].param("realm") == "r");
  CHECK(c[1].param("service") == "s");
  c = parse("Negotiate , , Basic", &why);
  CHECK(why.empty());
  REQUIRE(c.size() == 2);
  CHECK(c[1].scheme == "basic");
}

TEST_CASE("auth: hostile WWW-Authenticate values fail cleanly", "[auth]") {
  std::string why;
  for (std::string_view bad : {R"(Bearer realm="unterminated)", "Bearer realm=\"x\" junk", "=x",
                               "\"", ",,,", "Bearer realm=\"a\\", "Bearer ==="}) {
    why.clear();
    auto c = parse(bad, &why);  // never throws, never hangs
    CHECK(c.size() <= 1);
  }
  std::string huge(100'000, 'a');
  CHECK(parse("Bearer realm=\"" + huge + "\"").at(0).param("realm").size() == huge.size());
  CHECK(parse("").empty());
}

TEST_CASE("auth: scopes are merged as oras-go does", "[auth]") {
  CHECK(repository_scope("a/b", "pull") == "repository:a/b:pull");
  CHECK(clean_scopes(
            {"repository:a:pull", "repository:a:push", "repository:b:pull", "repository:a:pull"}) ==
        std::vector<std::string>{"repository:a:pull,push", "repository:b:pull"});
  CHECK(clean_scopes({"repository:a:pull,push", "repository:a:*"}) ==
        std::vector<std::string>{"repository:a:*"});
  CHECK(clean_scopes({"registry:catalog:*", "repository:x:delete", "repository:x:pull"}) ==
        std::vector<std::string>{"registry:catalog:*", "repository:x:delete,pull"});
  CHECK(clean_scopes({}).empty());
  CHECK(split_scopes("repository:a:pull  repository:b:push") ==
        std::vector<std::string>{"repository:a:pull", "repository:b:push"});
}

TEST_CASE("auth: token responses", "[auth]") {
  auto a =
      parse_token_response(R"({"token":"t1","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"})");
  REQUIRE(a.has_value());
  CHECK(a->token == "t1");
  CHECK(a->expires_in == std::chrono::seconds(300));
  a = parse_token_response(R"({"access_token":"t2","refresh_token":"r"})");
  REQUIRE(a.has_value());
  CHECK(a->token == "t2");
  CHECK(a->expires_in == std::chrono::seconds(60));
  CHECK(a->refresh_token == "r");
  std::string why;
  CHECK_FALSE(parse_token_response("{}", &why).has_value());
  CHECK_FALSE(parse_token_response("<html>", &why).has_value());
  CHECK_FALSE(parse_token_response(R"({"token":""})", &why).has_value());
  CHECK(form_escape("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9");
}

TEST_CASE("auth: issued_at shortens a token's life, never lengthens it", "[auth]") {
  using namespace std::chrono;
  auto t = parse_rfc3339("2026-11-29T19:30:00Z");
  REQUIRE(t.has_value());
  CHECK(*t == sys_days(year(2026) / 11 / 29) + hours(19) + minutes(30));
  CHECK(parse_rfc3339("2026-11-29T21:30:00.123456+02:00") == t);
  CHECK(parse_rfc3339("2026-11-29T17:30:00-02:00") == t);
  for (std::string_view bad : {"", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T19:30:00",
                               "2026-11-29T19:30:00Zjunk", "2026-02-30T00:00:00Z"})
    CHECK_FALSE(parse_rfc3339(bad).has_value());

  auto a =
      parse_token_response(R"({"token":"t","expires_in":300,"issued_at":"2026-11-29T19:30:00Z"})");
  REQUIRE(a.has_value());
  CHECK(a->remaining(*t) == seconds(300));
  CHECK(a->remaining(*t + seconds(100)) == seconds(201));  // issued 100 s ago (+1 s slack)
  CHECK(a->remaining(*t + seconds(400)) == seconds(150));  // skew: at most half taken off
  CHECK(a->remaining(*t - seconds(50)) == seconds(300));   // our clock behind: not longer
  auto b = parse_token_response(R"({"token":"t","expires_in":300,"issued_at":"yesterday"})");
  REQUIRE(b.has_value());
  CHECK(b->remaining(*t) == seconds(300));
}

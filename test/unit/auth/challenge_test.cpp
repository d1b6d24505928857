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

// Out-of-range token lifetimes (issue 17, item 6): `expires_in` huge,
// negative, zero, fractional or not a number, and `issued_at` stamps beyond
// a nanosecond clock, give a life in [1 s, max_token_lifetime]: never an
// overflow, never a life so short the token is fetched for every request.
#include "auth/challenge.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using coras::auth::detail::max_token_lifetime;
using coras::auth::detail::parse_rfc3339;
using coras::auth::detail::parse_token_response;
using std::chrono::seconds;

namespace {

struct row {
  std::string name;
  std::string expires_in;  // the JSON text of the value
  seconds want;
};

}  // namespace

TEST_CASE("auth: expires_in out of range is clamped", "[auth][token][security]") {
  const std::vector<row> rows = {
      {"1. int64 max: a year", "9223372036854775807", max_token_lifetime},
      {"2. uint64 max: a year", "18446744073709551615", max_token_lifetime},
      {"3. 1e300: a year", "1e300", max_token_lifetime},
      {"4. negative: the default", "-300", 60s},
      {"5. int64 min: the default", "-9223372036854775808", 60s},
      {"6. zero: the default", "0", 60s},
      {"7. fractional 300.9: cut to 300", "300.9", 300s},
      {"8. fractional 0.5: the default", "0.5", 60s},
      {"9. a string: the default", "\"300\"", 60s},
      {"10. null: the default", "null", 60s},
      {"11. one second: one second", "1", 1s},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      auto a = parse_token_response(R"({"token":"t","expires_in":)" + r.expires_in + "}");
      REQUIRE(a.has_value());
      CHECK(a->expires_in == r.want);
      // The life the cache uses is the same, and fits a steady_clock.
      auto life = a->remaining(std::chrono::system_clock::now());
      CHECK(life == r.want);
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(life);
      CHECK(until > std::chrono::steady_clock::now());
    }
  }
}

TEST_CASE("auth: a token's remaining life is at least a second, whatever issued_at says",
          "[auth][token][security]") {
  const auto now = *parse_rfc3339("2026-11-29T19:30:00Z");
  SECTION("a 1 s token issued long ago: still a second, not zero (no refetch per request)") {
    auto a =
        parse_token_response(R"({"token":"t","expires_in":1,"issued_at":"2000-01-01T00:00:00Z"})");
    REQUIRE(a.has_value());
    CHECK(a->remaining(now) == 1s);
  }
  SECTION("a year-long token issued in 2200: a year at most") {
    auto a = parse_token_response(
        R"({"token":"t","expires_in":1e300,"issued_at":"2200-01-01T00:00:00Z"})");
    REQUIRE(a.has_value());
    CHECK(a->remaining(now) == max_token_lifetime);
  }
  SECTION("issued_at in year 9999 or 0001: ignored (beyond the clock's range)") {
    CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));
    CHECK_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
    auto a = parse_token_response(
        R"({"token":"t","expires_in":300,"issued_at":"9999-12-31T23:59:59Z"})");
    REQUIRE(a.has_value());
    CHECK_FALSE(a->issued_at);
    CHECK(a->remaining(now) == 300s);
  }
  SECTION("a hand-made answer with a huge expires_in: clamped too") {
    coras::auth::detail::token_answer a;
    a.expires_in = seconds(std::numeric_limits<std::int64_t>::max() / 2);
    a.issued_at = now;
    CHECK(a.remaining(now) == max_token_lifetime);
  }
}

// A token endpoint's JSON answer. Invariants: an accepted answer has a
// non-empty token and an expires_in within [1 s, max_token_lifetime];
// `remaining` stays within [max(life/2, 1 s), life] whatever the clock says;
// the answer written back as JSON parses to the same token, life and refresh
// token. issued_at, when read, is an RFC 3339 stamp between 1970 and 2200.
#include "fuzz.hpp"

#include "auth/challenge.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstring>

using coras::fuzz::require;
namespace d = coras::auth::detail;
using namespace std::chrono;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  std::string why;
  auto a = d::parse_token_response(input, &why);
  // The stamp parser on its own, on the whole input.
  (void)d::parse_rfc3339(input);
  if (!a) {
    require(!why.empty(), "a refusal says why", input);
    return 0;
  }
  require(!a->token.empty(), "an accepted answer has a token", input);
  require(a->expires_in >= seconds(1) && a->expires_in <= d::max_token_lifetime,
          "expires_in is clamped", input);
  const auto life = a->expires_in;
  // Clocks around the stamp (or a fixed one), from the input's first bytes.
  std::int64_t skew = 0;
  std::memcpy(&skew, data, std::min(size, sizeof skew));
  skew %= 10LL * 365 * 24 * 3600;
  const auto base = a->issued_at ? *a->issued_at : system_clock::time_point(seconds(1'800'000'000));
  for (auto now : {base, base + seconds(skew), base - seconds(skew)}) {
    const auto left = a->remaining(now);
    require(left <= life && left >= std::max(life / 2, seconds(1)),
            "remaining stays within [life/2, life]", input);
  }
  if (a->issued_at) {
    const auto y = year_month_day(floor<days>(*a->issued_at)).year();
    require(y >= year(1969) && y <= year(2201), "issued_at is within 1970..2200", input);
  }
  boost::json::object o;
  o["token"] = a->token;
  o["expires_in"] = life.count();
  if (!a->refresh_token.empty()) o["refresh_token"] = a->refresh_token;
  const auto text = boost::json::serialize(o);
  auto again = d::parse_token_response(text);
  require(again.has_value(), "a written answer parses", text);
  require(again->token == a->token && again->expires_in == life &&
              again->refresh_token == a->refresh_token,
          "write -> parse is stable", text);
  return 0;
}

// Out-of-range values from the network (issue 17, item 6): Retry-After
// values that are huge, negative, fractional or dated in year 1 or 9999 give
// a bounded wait or none, never an overflowed one.
#include "http/protocol.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using coras::http::detail::parse_retry_after;

namespace {

struct row {
  std::string name;
  std::string value;
  std::optional<std::chrono::milliseconds> want;  // nullopt: malformed
};

}  // namespace

TEST_CASE("http: Retry-After values out of range saturate or are refused",
          "[http][retry][security]") {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37
  constexpr std::chrono::milliseconds cap = std::chrono::seconds(10'000'000);
  const std::vector<row> rows = {
      {"1. 2^64 seconds: saturates", "18446744073709551616", cap},
      {"2. 10^30 seconds: saturates", "1000000000000000000000000000000", cap},
      {"3. just above the cap: saturates", "10000001", cap},
      {"4. at the cap: as is", "10000000", cap},
      {"5. negative seconds: malformed", "-5", std::nullopt},
      {"6. negative 2^63: malformed", "-9223372036854775808", std::nullopt},
      {"7. fractional seconds: malformed", "1.5", std::nullopt},
      {"8. exponent: malformed", "1e9", std::nullopt},
      {"9. year 9999: saturates", "Fri, 31 Dec 9999 23:59:59 GMT", cap},
      {"10. year 0001: in the past, zero", "Mon, 01 Jan 0001 00:00:00 GMT", 0ms},
      {"11. year 2262 (past a nanosecond clock's end): saturates", "Sat, 12 Apr 2262 00:00:00 GMT",
       cap},
      {"12. one second ahead: one second", "Sun, 06 Nov 1994 08:49:38 GMT", 1000ms},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      auto got = parse_retry_after(r.value, now);
      REQUIRE(got.has_value() == r.want.has_value());
      if (got) CHECK(got->count() == r.want->count());
    }
  }
}

// A `Retry-After` value (delta-seconds or an IMF-fixdate). Invariants: the
// wait is never negative nor past the 10,000,000 s cap; delta-seconds do not
// depend on the clock; a later clock never gives a longer wait for a date;
// an accepted date that is ahead prints back (IMF-fixdate, weekday aside)
// to the value it was read from, so nothing but the grammar's own form is
// accepted (no negative fields, no 31 February).
#include "fuzz.hpp"

#include "http/grammar.hpp"
#include "http/protocol.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iterator>
#include <string>

using coras::fuzz::require;
using namespace std::chrono;

namespace {

constexpr auto cap = seconds(10'000'000);

std::string imf_fixdate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  // 2000-01-01T00:00:00Z and 2026-12-06T00:00:00Z.
  const system_clock::time_point early{seconds(946'684'800)};
  const system_clock::time_point late{seconds(1'796'515'200)};
  auto a = coras::http::detail::parse_retry_after(input, early);
  auto b = coras::http::detail::parse_retry_after(input, late);
  require(a.has_value() == b.has_value(), "acceptance does not depend on the clock", input);
  if (!a) return 0;
  require(*a >= milliseconds(0) && *a <= cap && *b >= milliseconds(0) && *b <= cap,
          "the wait is within [0, cap]", input);
  require(*b <= *a, "a later clock never waits longer", input);
  const auto trimmed = coras::http::grammar::trim_ows(input);
  const bool delta =
      !trimmed.empty() && trimmed.find_first_not_of("0123456789") == std::string_view::npos;
  if (delta) {
    require(*a == *b, "delta-seconds do not depend on the clock", input);
    if (trimmed.size() < 8)
      require(*a == seconds(std::stoll(std::string(trimmed))), "small deltas are exact", input);
    return 0;
  }
  require(trimmed.size() == 29, "a date is an IMF-fixdate", input);
  // Printed back from a clock just before the month it names (a clock years
  // away would only see the cap): the same date, weekday aside. A leap
  // second (:60) prints as the next minute.
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int y = 0;
  auto r = std::from_chars(trimmed.data() + 12, trimmed.data() + 16, y);
  const auto m = std::find(std::begin(months), std::end(months), trimmed.substr(8, 3));
  if (r.ec != std::errc() || m == std::end(months) || y < 1700 || y > 2200 ||
      trimmed.substr(23, 2) == "60")
    return 0;
  const auto month_start = sys_days(
      year_month_day{year(y), month(static_cast<unsigned>(m - std::begin(months) + 1)), day(1)});
  const system_clock::time_point now{month_start - days(1)};
  const auto w = coras::http::detail::parse_retry_after(input, now);
  require(w.has_value(), "a date parses whatever the clock", input);
  if (*w > milliseconds(0) && *w < cap) {
    const auto printed = imf_fixdate(system_clock::to_time_t(now + duration_cast<seconds>(*w)));
    require(printed.substr(5) == trimmed.substr(5), "an accepted date prints back", input);
  }
  return 0;
}

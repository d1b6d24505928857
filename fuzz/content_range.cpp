// Content-Range (a 206's, a PATCH's, an upload status's Range) and a
// request's Range, the two byte-range grammars both sides read
// (lib/http/grammar). Invariants: an accepted range has first <= last and,
// with a total, last < total; it prints back in the canonical form to the
// same range; a Range read against a blob is inside the blob and prints
// back (bytes=a-b) to the same range.
#include "fuzz.hpp"

#include "http/grammar.hpp"

#include <cstdint>
#include <limits>
#include <string>

using coras::fuzz::require;
namespace g = coras::http::grammar;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  if (auto r = g::parse_content_range(input)) {
    require(r->first <= r->last, "first <= last", input);
    if (r->total) require(r->last < *r->total, "last < total", input);
    const auto canonical = "bytes " + std::to_string(r->first) + "-" + std::to_string(r->last) +
                           "/" + (r->total ? std::to_string(*r->total) : std::string("*"));
    auto again = g::parse_content_range(canonical);
    require(again && again->first == r->first && again->last == r->last && again->total == r->total,
            "print -> parse is stable", canonical);
    auto oci = g::parse_content_range(std::to_string(r->first) + "-" + std::to_string(r->last));
    require(oci && oci->first == r->first && oci->last == r->last && !oci->total,
            "the OCI form a-b reads the same range", input);
  }
  constexpr auto top = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t total :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}, std::uint64_t{1} << 63, top}) {
    g::byte_range out;
    auto what = g::parse_range(input, total, out);
    if (what != g::range_result::partial) continue;
    require(total > 0 && out.first <= out.last && out.last < total, "a partial range fits the blob",
            input);
    const auto printed = "bytes=" + std::to_string(out.first) + "-" + std::to_string(out.last);
    g::byte_range again;
    require(g::parse_range(printed, total, again) == g::range_result::partial &&
                again.first == out.first && again.last == out.last,
            "print -> parse is stable", printed);
  }
  // The Content-Type grammar is the third of lib/http/grammar.
  const auto type = g::media_type_of(input);
  if (!type.empty()) {
    require(g::media_type_of(type) == type, "media_type_of is idempotent", input);
    require(type.find('/') != std::string::npos, "a media type has a slash", input);
  }
  require(g::trim_ows(g::trim_ows(input)) == g::trim_ows(input), "trim_ows is idempotent", input);
  return 0;
}

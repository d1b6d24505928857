#include "http/grammar.hpp"

#include <coras/http/fields.hpp>

#include <algorithm>
#include <charconv>

namespace coras::http::grammar {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Digits only (no sign, no spaces), without overflow.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

range_result parse_range(std::string_view header, std::uint64_t total, byte_range& out) {
  header = trim_ows(header);
  if (!starts_with_ci(header, "bytes=")) return range_result::whole;
  std::string_view spec = trim_ows(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return range_result::whole;  // multipart: no
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return range_result::whole;
  std::string_view a = trim_ows(spec.substr(0, dash)), b = trim_ows(spec.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last b bytes
    if (!parse_u64(b, last)) return range_result::whole;
    if (last == 0 || total == 0) return range_result::unsatisfiable;
    out.first = total > last ? total - last : 0;
    out.last = total - 1;
    return range_result::partial;
  }
  if (!parse_u64(a, first)) return range_result::whole;
  if (b.empty()) {
    last = total == 0 ? 0 : total - 1;
  } else if (!parse_u64(b, last) || last < first) {
    return range_result::whole;
  }
  if (first >= total) return range_result::unsatisfiable;
  out.first = first;
  out.last = std::min(last, total - 1);
  return range_result::partial;
}

std::optional<byte_range> parse_content_range(std::string_view header) {
  header = trim_ows(header);
  if (starts_with_ci(header, "bytes")) header = trim_ows(header.substr(5));
  if (!header.empty() && header.front() == '=') header = header.substr(1);
  byte_range r;
  if (auto slash = header.find('/'); slash != std::string_view::npos) {
    auto total = trim_ows(header.substr(slash + 1));
    if (total != "*") {
      std::uint64_t t = 0;
      if (!parse_u64(total, t)) return std::nullopt;
      r.total = t;
    }
    header = header.substr(0, slash);
  }
  auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  if (!parse_u64(trim_ows(header.substr(0, dash)), r.first) ||
      !parse_u64(trim_ows(header.substr(dash + 1)), r.last) || r.last < r.first)
    return std::nullopt;
  if (r.total && r.last >= *r.total) return std::nullopt;
  return r;
}

std::string media_type_of(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto type = trim_ows(content_type.substr(0, semi));
  // RFC 9110 token characters and exactly one '/', inside: copied once,
  // then checked and lower-cased in one pass (every manifest and blob
  // answer's Content-Type comes here).
  std::string out(type);
  std::size_t slashes = 0, slash = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (c == '/') {
      ++slashes;
      slash = i;
    } else if (!is_tchar(c)) {
      return {};
    } else if (static_cast<unsigned char>(c - 'A') < 26) {
      c = static_cast<char>(c + ('a' - 'A'));
    }
  }
  if (slashes != 1 || slash == 0 || slash + 1 == out.size()) return {};
  return out;
}

}  // namespace coras::http::grammar

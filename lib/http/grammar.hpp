// Header grammars shared by the client (lib/remote) and the embedded registry
// (lib/server): byte ranges, Content-Range and the media type of a
// Content-Type. Pure functions over string views, no Beast, so both sides can
// use them and they are tested and fuzzed on their own
// (test/unit/http/grammar_test.cpp). Header names and other case-insensitive
// tokens compare with `coras::http::iequals` (<coras/http/fields.hpp>).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coras::http::grammar {

namespace detail {
// One lookup a character: every request head's names and every response's
// Content-Type go through it.
inline constexpr std::array<bool, 256> tchar_table = [] {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
}  // namespace detail

/// Whether `c` is an RFC 9110 token character (`tchar`: what header names,
/// methods and media types are made of).
constexpr bool is_tchar(char c) noexcept {
  return detail::tchar_table[static_cast<unsigned char>(c)];
}

/// Optional whitespace (space, tab) removed from both ends (RFC 9110 OWS).
std::string_view trim_ows(std::string_view s) noexcept;

/// An inclusive byte range, with the representation's length when the header
/// said it (`Content-Range: bytes a-b/total`; nullopt for `*` or no total).
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::optional<std::uint64_t> total;
};

enum class range_result { whole, partial, unsatisfiable };

/// Reads a request's `Range` against a blob of `total` bytes (server side).
/// Forms: `bytes=a-b`, `bytes=a-`, `bytes=-n` (the unit is case-insensitive).
/// A malformed or multi-range header is ignored (`whole`), as RFC 9110
/// allows. On `partial`, `out.first`/`out.last` are set (clamped to the blob);
/// `out.total` is left alone.
range_result parse_range(std::string_view header, std::uint64_t total, byte_range& out);

/// Reads a byte range in either of the forms registries and clients write:
///
/// | form                   | where                                                  |
/// |------------------------|--------------------------------------------------------|
/// | `a-b`                  | OCI: a PATCH's `Content-Range`, the upload status `Range` |
/// | `bytes a-b/total`      | HTTP: a 206's `Content-Range` (`total` may be `*`)     |
/// | `bytes a-b`, `bytes=a-b` | tolerated on PATCH, as some clients send them        |
///
/// The unit is case-insensitive and whitespace around the numbers is allowed.
/// Nullopt when malformed, when `a > b`, when the total is neither `*` nor a
/// number, or when `b` is not below the total. Distribution writes `0-0` for
/// an empty upload session as well as for a one-byte one: that is {0, 0}, and
/// callers must tell the two apart by other evidence.
std::optional<byte_range> parse_content_range(std::string_view header);

/// The media type of a Content-Type value: parameters dropped, lower-cased
/// (media types are case-insensitive, RFC 9110 §8.3.1, and coras compares
/// them with `==` against the lower-case constants of
/// <coras/core/media_type.hpp>). Empty when the value is not `type/subtype`
/// made of RFC 9110 token characters.
std::string media_type_of(std::string_view content_type);

}  // namespace coras::http::grammar

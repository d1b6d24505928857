// Small text helpers shared by lib/ (not installed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace coras::detail {

/// `s` in double quotes for an error message, cut to 80 characters ("...").
std::string quote(std::string_view s);

/// Lower-case hex of `n` bytes.
std::string to_hex(const unsigned char* p, std::size_t n);
/// Appends the lower-case hex of `n` bytes at `p` to `out`.
void append_hex(std::string& out, const unsigned char* p, std::size_t n);

/// Percent-encodes all but RFC 3986's unreserved characters, for a URL's
/// query (`query_escape`) or an `application/x-www-form-urlencoded` body,
/// where a space is `+` (`form_escape`).
std::string query_escape(std::string_view s);
std::string form_escape(std::string_view s);

}  // namespace coras::detail

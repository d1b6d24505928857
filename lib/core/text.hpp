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

}  // namespace coras::detail

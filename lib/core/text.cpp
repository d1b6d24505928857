#include "text.hpp"

namespace coras::detail {

std::string quote(std::string_view s) {
  // Inputs can be hostile and huge; a message shows enough to recognise them.
  constexpr std::size_t max_shown = 80;
  std::string out = "\"";
  out += s.substr(0, max_shown);
  if (s.size() > max_shown) out += "...";
  out += '"';
  return out;
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xf];
  }
  return out;
}

}  // namespace coras::detail

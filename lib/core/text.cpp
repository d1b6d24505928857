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

void append_hex(std::string& out, const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out[at + 2 * i] = digits[p[i] >> 4];
    out[at + 2 * i + 1] = digits[p[i] & 0xf];
  }
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out;
  append_hex(out, p, n);
  return out;
}

namespace {
std::string percent_escape(std::string_view s, bool space_as_plus) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && space_as_plus) {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

std::string query_escape(std::string_view s) { return percent_escape(s, false); }
std::string form_escape(std::string_view s) { return percent_escape(s, true); }

}  // namespace coras::detail

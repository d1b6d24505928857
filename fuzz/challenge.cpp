// WWW-Authenticate values from a registry (one per line of the input: a
// response may carry several). Invariants: schemes and parameter names come
// out lower-cased and made of token characters; what parsed in full renders
// back (quoted, escaped) to values that parse to the same challenges; the
// scope parameter splits and merges without loss (clean_scopes is
// idempotent).
#include "fuzz.hpp"

#include "auth/challenge.hpp"

#include <string>
#include <vector>

using coras::fuzz::require;
namespace d = coras::auth::detail;

namespace {

bool token_chars(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return !s.empty();
}

std::string render(const std::vector<d::challenge>& list) {
  std::string out;
  for (const auto& ch : list) {
    if (!out.empty()) out += ", ";
    out += ch.scheme;
    bool first = true;
    for (const auto& [name, value] : ch.params) {
      out += first ? " " : ", ";
      first = false;
      out += name + "=\"";
      for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
  }
  return out;
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  std::vector<std::string_view> values;
  for (auto rest = input;;) {
    auto [line, after] = coras::fuzz::split(rest, "\n");
    values.push_back(line);
    if (after.empty() && line.size() == rest.size()) break;
    rest = after;
  }
  std::string why;
  const auto list = d::parse_challenges(values, &why);
  for (const auto& ch : list) {
    require(token_chars(ch.scheme), "scheme is a lower-case token", ch.scheme);
    for (const auto& [name, value] : ch.params)
      require(token_chars(name), "parameter name is a lower-case token", name);
    // The scope parameter as the authorizer uses it.
    auto scopes = d::split_scopes(ch.param("scope"));
    for (const auto& s : scopes)
      require(!s.empty() && s.find(' ') == std::string::npos, "split_scopes gives non-empty words",
              s);
    auto clean = d::clean_scopes(scopes);
    require(d::clean_scopes(clean) == clean, "clean_scopes is idempotent", ch.param("scope"));
  }
  if (why.empty()) {
    // Everything parsed: the rendering parses back to the same challenges.
    const auto text = render(list);
    std::string why2;
    const std::string_view one[] = {text};
    const auto again = d::parse_challenges(one, &why2);
    require(why2.empty(), "a rendered challenge list parses", text);
    require(again.size() == list.size(), "render -> parse keeps the challenges", text);
    for (std::size_t i = 0; i < list.size(); ++i)
      require(again[i].scheme == list[i].scheme && again[i].params == list[i].params,
              "render -> parse is stable", text);
  }
  return 0;
}

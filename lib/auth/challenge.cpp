#include "challenge.hpp"

#include "core/json_codec.hpp"
#include "http/grammar.hpp"

#include <coras/core/error.hpp>

#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <set>

namespace coras::auth::detail {
namespace {

using http::grammar::is_tchar;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A cursor over one header value.
struct cursor {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_space() {
    while (!done() && (peek() == ' ' || peek() == '\t')) ++i;
  }
  void skip_commas() {
    while (!done() && (peek() == ',' || peek() == ' ' || peek() == '\t')) ++i;
  }
  std::string_view token() {
    auto start = i;
    while (!done() && is_tchar(peek())) ++i;
    return s.substr(start, i - start);
  }
  // After '"': the unescaped content; false when the closing quote is missing.
  bool quoted(std::string& out) {
    for (++i; !done(); ++i) {
      char c = peek();
      if (c == '"') {
        ++i;
        return true;
      }
      if (c == '\\') {
        if (++i == s.size()) return false;
        c = peek();
      }
      out += c;
    }
    return false;
  }
};

}  // namespace

std::vector<challenge> parse_challenges(std::span<const std::string_view> values,
                                        std::string* why) {
  std::vector<challenge> out;
  auto fail = [&](std::string msg) {
    if (why) *why = std::move(msg);
    return out;
  };
  for (auto value : values) {
    cursor c{value};
    c.skip_commas();
    while (!c.done()) {
      auto scheme = c.token();
      if (scheme.empty())
        return fail("unexpected '" + std::string(1, c.peek()) + "' at position " +
                    std::to_string(c.i) + " of WWW-Authenticate");
      challenge ch;
      ch.scheme = lower(scheme);
      c.skip_space();
      // Parameters until the next challenge: a token followed by something
      // other than '=' starts a new challenge.
      while (!c.done()) {
        auto save = c.i;
        auto name = c.token();
        c.skip_space();
        if (name.empty() || c.done() || c.peek() != '=') {
          c.i = save;  // the next challenge's scheme (or an unpadded token68, harmless)
          break;
        }
        ++c.i;                               // '='
        if (!c.done() && c.peek() == '=') {  // token68 padding, e.g. `abc==`
          while (!c.done() && c.peek() != ',') ++c.i;
          c.skip_commas();
          continue;
        }
        c.skip_space();
        std::string v;
        if (!c.done() && c.peek() == '"') {
          if (!c.quoted(v))
            return fail("unterminated quoted string in WWW-Authenticate parameter " +
                        std::string(name));
        } else {
          // Unquoted: a token by the grammar, but registries put URLs here
          // (realm=https://…), so take everything up to a comma or space.
          auto start = c.i;
          while (!c.done() && c.peek() != ',' && c.peek() != ' ' && c.peek() != '\t') ++c.i;
          v = std::string(value.substr(start, c.i - start));
        }
        ch.params[lower(name)] = std::move(v);
        c.skip_space();
        if (!c.done() && c.peek() != ',')
          return fail("unexpected '" + std::string(1, c.peek()) + "' after parameter " +
                      std::string(name) + " of WWW-Authenticate");
        c.skip_commas();
      }
      out.push_back(std::move(ch));
      // A challenge without parameters ("Basic, Bearer realm=…") ends at
      // its comma: the list goes on (RFC 9110 #challenge).
      c.skip_commas();
    }
  }
  return out;
}

std::string repository_scope(std::string_view name, std::string_view actions) {
  constexpr std::string_view kind = "repository:";
  std::string out;  // one allocation: every request of a repository makes one
  out.reserve(kind.size() + name.size() + 1 + actions.size());
  out.append(kind).append(name).append(1, ':').append(actions);
  return out;
}

std::vector<std::string> split_scopes(std::string_view p) {
  std::vector<std::string> out;
  while (!p.empty()) {
    auto sp = p.find(' ');
    auto part = p.substr(0, sp);
    if (!part.empty()) out.emplace_back(part);
    if (sp == std::string_view::npos) break;
    p.remove_prefix(sp + 1);
  }
  return out;
}

std::vector<std::string> clean_scopes(std::vector<std::string> scopes) {
  std::map<std::string, std::set<std::string>> resources;  // "type:name" → actions
  std::set<std::string> others;
  for (const auto& s : scopes) {
    auto first = s.find(':');
    auto last = s.rfind(':');
    if (first == std::string::npos || first == last) {
      if (!s.empty()) others.insert(s);
      continue;
    }
    auto& actions = resources[s.substr(0, last)];
    std::string list = s.substr(last + 1);
    std::replace(list.begin(), list.end(), ',', ' ');
    for (auto& a : split_scopes(list)) actions.insert(std::move(a));
  }
  std::vector<std::string> out(others.begin(), others.end());
  for (auto& [resource, actions] : resources) {
    if (actions.empty()) continue;
    std::string joined;
    if (actions.contains("*")) {
      joined = "*";
    } else {
      for (const auto& a : actions) joined += (joined.empty() ? "" : ",") + a;
    }
    out.push_back(resource + ":" + joined);
  }
  std::sort(out.begin(), out.end());
  return out;
}

boost::system::result<token_answer> parse_token_response(std::string_view body, std::string* why) {
  auto fail = [&](std::string msg) -> boost::system::result<token_answer> {
    if (why) *why = std::move(msg);
    return make_error_code(errc::invalid_response);
  };
  boost::json::value doc;
  try {
    doc = coras::detail::parse_json(body);
  } catch (const coras::detail::json_decode_error& e) {
    return fail(std::string("token response is not JSON: ") + e.what());
  }
  const auto* o = doc.if_object();
  if (!o) return fail("token response is not a JSON object");
  token_answer a;
  for (const char* key : {"token", "access_token"}) {
    if (const auto* v = o->if_contains(key); v && v->is_string() && !v->as_string().empty()) {
      a.token = std::string(v->as_string());
      break;
    }
  }
  if (a.token.empty()) return fail("token response has neither \"token\" nor \"access_token\"");
  if (const auto* v = o->if_contains("expires_in")) {
    // A hostile or broken service may send anything here: a huge value would
    // overflow the clock arithmetic of the cache (and a wrapped, negative life
    // would fetch a token for every request), a negative or zero one means
    // nothing. Clamped to [1 s, max_token_lifetime]; fractions are cut off;
    // values that are not positive numbers keep the spec's default.
    constexpr auto top = static_cast<double>(max_token_lifetime.count());
    double seconds = 0;
    if (v->is_int64())
      seconds = static_cast<double>(v->as_int64());
    else if (v->is_uint64())
      seconds = static_cast<double>(v->as_uint64());
    else if (v->is_double() && std::isfinite(v->as_double()))
      seconds = v->as_double();
    if (seconds >= 1)
      a.expires_in = std::chrono::seconds(static_cast<long long>(std::min(seconds, top)));
  }
  if (const auto* v = o->if_contains("issued_at"); v && v->is_string())
    a.issued_at = parse_rfc3339(v->as_string());
  if (const auto* v = o->if_contains("refresh_token"); v && v->is_string())
    a.refresh_token = std::string(v->as_string());
  return a;
}

std::chrono::seconds token_answer::remaining(std::chrono::system_clock::time_point now) const {
  // expires_in is at most max_token_lifetime when parsed; clamped again for a
  // hand-made answer, so nothing below can overflow.
  const auto life = std::clamp(expires_in, std::chrono::seconds(1), max_token_lifetime);
  if (!issued_at) return life;
  // One second of slack for stamps cut to whole seconds; at most half the
  // life taken off, so a server clock behind ours cannot make every token
  // look expired on arrival (and a refetch storm follow); never under a
  // second, so a 1 s token is not fetched again for every request.
  using std::chrono::seconds;
  const auto issued = std::chrono::floor<seconds>(issued_at->time_since_epoch()).count();
  const auto at = std::chrono::floor<seconds>(now.time_since_epoch()).count();
  const auto left = seconds(issued + life.count() + 1 - at);  // years apart at most: no overflow
  return std::clamp(left, std::max(life / 2, seconds(1)), life);
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2, h) ||
      s[13] != ':' || !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, sec))
    return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.')
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9';) ++i;  // fractions: dropped
  int offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(i + 4, 2, om))
      return std::nullopt;
    offset_minutes = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  // Beyond these years a nanosecond system_clock overflows (its range ends in
  // 2262): a stamp there is nonsense, treated as absent.
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60 || y < 1970 || y > 2200) return std::nullopt;
  return sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) - minutes(offset_minutes);
}

}  // namespace coras::auth::detail

#include "protocol.hpp"

#include <coras/core/error.hpp>

#include "core/base64.hpp"
#include "grammar.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace coras::http::detail {
namespace {

using boost::system::result;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
result<T> fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return make_error_code(errc::invalid_response);
}

// Where a Retry-After saturates (about 115 days): far above any sensible
// retry.max_retry_after, far below what a millisecond count can hold.
constexpr std::int64_t max_retry_after_seconds = 10'000'000;

std::uint16_t default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"): what RFC 9110 says a
// sender must produce; the obsolete forms are not worth the code.
std::optional<std::time_t> parse_http_date(std::string_view s) {
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s.substr(25) != " GMT") return std::nullopt;
  // Digits only: from_chars alone takes a sign ("-1" hours, "-0" seconds).
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    if (!std::all_of(s.data() + pos, s.data() + pos + len,
                     [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return r.ec == std::errc() && r.ptr == s.data() + pos + len;
  };
  std::tm tm{};
  int day = 0, year = 0, hour = 0, min = 0, sec = 0;
  if (!num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hour) || !num(20, 2, min) ||
      !num(23, 2, sec) || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':')
    return std::nullopt;
  auto month = std::find(months.begin(), months.end(), s.substr(8, 3));
  if (month == months.end() || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  // A day the month has (timegm would turn 31 Feb into 3 March).
  const std::chrono::year_month_day date{
      std::chrono::year(year),
      std::chrono::month(static_cast<unsigned>(month - months.begin()) + 1),
      std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  tm.tm_mday = day;
  tm.tm_mon = static_cast<int>(month - months.begin());
  tm.tm_year = year - 1900;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return timegm(&tm);
}

}  // namespace

std::string origin::authority() const {
  std::string out;
  append_authority(out);
  return out;
}

void origin::append_authority(std::string& out) const {
  const bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  if (port == default_port(scheme)) return;
  char digits[8];
  auto r = std::to_chars(digits, digits + sizeof digits, port);
  out += ':';
  out.append(digits, r.ptr);
}

std::string origin::str() const {
  std::string out;
  append_str(out);
  return out;
}

void origin::append_str(std::string& out) const {
  out += scheme;
  out += "://";
  append_authority(out);
}

namespace {

constexpr bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ':' and '@'.
constexpr bool is_pchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@': return true;
    default: return false;
  }
}

// What split_url_simple takes without a second look, a table each (a
// lookup a character where the comparisons above cost ~8 instructions; the
// path of every request goes through here): a lower-case host name's
// characters, and a path's and query's (pchar, '/', '?'; '%' is checked
// with the two hex digits after it).
constexpr std::array<bool, 256> char_table(bool (*member)(char)) {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = member(static_cast<char>(c));
  return t;
}
constexpr auto simple_host_chars = char_table([](char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
});
constexpr auto simple_path_chars =
    char_table([](char c) { return is_pchar(c) || c == '/' || c == '?'; });

}  // namespace

// The URLs coras builds itself ("http[s]://host[:port]/path[?query]" with a
// lower-case host of letters, digits, '.' and '-') are split by hand: Boost.URL
// costs about 10,000 instructions a request on the hot path. Anything else
// (upper case, IPv6, userinfo, a fragment, an odd character) returns nullopt
// and takes split_url_general, so both always agree (tested, and checked by
// the link fuzz target).
std::optional<split_url_result> split_url_simple(std::string_view url) {
  split_url_result out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.origin.scheme = "https";
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.origin.scheme = "http";
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  std::size_t i = 0;
  while (i < rest.size() && simple_host_chars[static_cast<unsigned char>(rest[i])]) ++i;
  if (i == 0) return std::nullopt;
  out.origin.host.assign(rest.substr(0, i));
  out.origin.port = default_port(out.origin.scheme);
  if (i < rest.size() && rest[i] == ':') {
    std::size_t j = i + 1;
    unsigned long p = 0;
    // At most 5 digits: a sixth is left in `rest`, which then is not a path.
    while (j < rest.size() && j - i <= 5 && rest[j] >= '0' && rest[j] <= '9')
      p = p * 10 + static_cast<unsigned long>(rest[j++] - '0');
    if (j == i + 1 || p == 0 || p > 65535) return std::nullopt;
    out.origin.port = static_cast<std::uint16_t>(p);
    i = j;
  }
  rest.remove_prefix(i);
  if (rest.empty()) {
    out.target = "/";
    return out;
  }
  if (rest.front() != '/') return std::nullopt;
  for (std::size_t k = 0; k < rest.size(); ++k) {
    const char c = rest[k];
    if (simple_path_chars[static_cast<unsigned char>(c)]) continue;
    if (c == '%' && k + 2 < rest.size() && is_hex(rest[k + 1]) && is_hex(rest[k + 2])) {
      k += 2;
      continue;
    }
    return std::nullopt;
  }
  // "/p?" (an empty query) keeps its '?', as the general path does.
  out.target.assign(rest);
  return out;
}

namespace {

// A token: every character a tchar (a lambda, so the table lookup inlines
// where a function pointer would be called per character).
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return grammar::is_tchar(c); });
}

// `text` for an error message: control bytes as \xHH, at most 64 characters.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
      continue;
    }
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", u);
    out += hex;
  }
  if (text.size() > 64) out += "...";
  return out;
}

[[noreturn]] void refuse_field(std::string_view what, std::string_view name) {
  throw error(errc::invalid_argument, std::string(what) + " \"" + printable(name) +
                                          "\" cannot be sent: it would break the request's header");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  if (!is_token(name)) refuse_field("the header name", name);
  // Three vectorized scans: a character loop cost about 1,500 instructions
  // on the Accept list's 300 characters, on every manifest request.
  auto has = [&](char c) { return std::memchr(value.data(), c, value.size()) != nullptr; };
  if (!value.empty() && (has('\r') || has('\n') || has('\0')))
    refuse_field("the value of header", name);
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const fields& headers, std::string_view user_agent,
                         std::string_view proxy_authorization, body_framing framing,
                         std::uint64_t content_length, std::string buffer) {
  if (!is_token(method)) refuse_field("the method", method);
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
      }))
    refuse_field("the request target", target);
  std::string out = std::move(buffer);
  out.clear();
  std::size_t need = method.size() + target.size() + host.size() + user_agent.size() + 96;
  for (const auto& f : headers) need += f.name.size() + f.value.size() + 4;
  out.reserve(need);
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  append_field(out, "Host", host);
  for (const auto& f : headers) {
    // Host and the body's framing are this function's (as Beast's set() did).
    if (iequals(f.name, "Host")) continue;
    if (framing != body_framing::none &&
        (iequals(f.name, "Content-Length") || iequals(f.name, "Transfer-Encoding")))
      continue;
    append_field(out, f.name, f.value);
  }
  if (!headers.contains("User-Agent")) append_field(out, "User-Agent", user_agent);
  if (!proxy_authorization.empty()) append_field(out, "Proxy-Authorization", proxy_authorization);
  if (framing == body_framing::chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (framing == body_framing::length) {
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, content_length);
    out += "Content-Length: ";
    out.append(digits, r.ptr);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

result<split_url_result> split_url(std::string_view url, std::string* why) {
  if (auto simple = split_url_simple(url)) return std::move(*simple);
  return split_url_general(url, why);
}

result<split_url_result> split_url_general(std::string_view url, std::string* why) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed)
    return fail<split_url_result>(why, "not an absolute URL: \"" + std::string(url) + "\"");
  const auto& u = *parsed;
  split_url_result out;
  out.origin.scheme = to_lower(u.scheme());
  if (out.origin.scheme != "http" && out.origin.scheme != "https")
    return fail<split_url_result>(why, "unsupported URL scheme \"" + out.origin.scheme + "\"");
  if (u.has_userinfo()) return fail<split_url_result>(why, "credentials in URLs are not accepted");
  if (u.host_type() == boost::urls::host_type::ipv6) {
    out.origin.host = u.host_address();
  } else {
    out.origin.host = to_lower(u.encoded_host());
  }
  if (out.origin.host.empty()) return fail<split_url_result>(why, "URL has no host");
  if (u.has_port()) {
    // Read here, not with port_number(): Boost.URL 1.81 wraps a port past
    // 65535 into 16 bits (99999 would connect to 34463).
    const auto text = u.port();
    unsigned long p = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), p);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || p == 0 || p > 65535)
      return fail<split_url_result>(why, "URL has an invalid port");
    out.origin.port = static_cast<std::uint16_t>(p);
  } else {
    out.origin.port = default_port(out.origin.scheme);
  }
  out.target = u.encoded_path();
  // Boost.URL 1.81 lets a port run into the path ("h:2=0/x" is port 2 and
  // path "=0/x"): a request-target that is not a path is never sent.
  if (!out.target.empty() && out.target.front() != '/')
    return fail<split_url_result>(why, "URL has an invalid port or path");
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) {
    out.target += '?';
    out.target += u.encoded_query();
  }
  return out;
}

std::optional<std::string> parse_warning(std::string_view value) {
  constexpr std::string_view prefix = "299 - \"";
  value = trim(value);
  if (value.size() < prefix.size() + 2 || value.substr(0, prefix.size()) != prefix ||
      value.back() != '"')
    return std::nullopt;
  auto text = value.substr(prefix.size(), value.size() - prefix.size() - 1);
  if (text.empty()) return std::nullopt;
  return std::string(text);
}

void report_warnings(const std::function<void(const warning&)>& to, const fields& headers,
                     std::string_view url) {
  if (!to) return;
  for (auto value : headers.get_all("Warning"))
    if (auto text = parse_warning(value)) to(warning{std::move(*text), strip_credentials(url)});
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t seconds = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // Absurdly long values saturate; the caller compares against its own limit.
    if (r.ec == std::errc::result_out_of_range || seconds > max_retry_after_seconds)
      seconds = max_retry_after_seconds;
    return std::chrono::seconds(seconds);
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  // Compared in whole seconds first: a date in year 1 or 9999 does not fit a
  // nanosecond system_clock, and converting it would overflow.
  const auto ahead = *when - std::chrono::system_clock::to_time_t(now);
  if (ahead > max_retry_after_seconds) return std::chrono::seconds(max_retry_after_seconds);
  if (ahead < -1) return std::chrono::milliseconds(0);
  auto at = std::chrono::system_clock::from_time_t(*when);
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

bool is_retryable_status(unsigned status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

bool is_idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
}

std::chrono::milliseconds backoff(const retry_options& o, int attempt, double random01) {
  double base =
      static_cast<double>(o.initial_backoff.count()) * std::pow(2.0, std::min(attempt, 30));
  base = std::min(base, static_cast<double>(o.max_backoff.count()));
  random01 = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base / 2 + base / 2 * random01));
}

bool is_redirect(unsigned status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

result<redirect_step> next_redirect(std::string_view current, std::string_view method,
                                    unsigned status, std::string_view location, std::string* why) {
  auto base = boost::urls::parse_absolute_uri(current);
  if (!base) return fail<redirect_step>(why, "bad request URL");
  auto ref = boost::urls::parse_uri_reference(trim(location));
  if (!ref || trim(location).empty())
    return fail<redirect_step>(
        why, "redirect with an invalid Location: \"" + std::string(location) + "\"");
  boost::urls::url resolved;
  auto rr = boost::urls::resolve(*base, *ref, resolved);
  if (!rr)
    return fail<redirect_step>(why, "cannot resolve Location \"" + std::string(location) + "\"");
  resolved.remove_fragment();
  auto from = split_url(current);
  auto to = split_url(resolved.buffer(), why);
  if (!from || !to) return fail<redirect_step>(why, why ? *why : std::string("bad redirect"));
  if (from->origin.tls() && !to->origin.tls())
    return fail<redirect_step>(
        why, "refusing a redirect from https to http: " + std::string(resolved.buffer()));
  redirect_step step;
  step.url = std::string(resolved.buffer());
  step.method = std::string(method);
  if (status == 303 || ((status == 301 || status == 302) && method == "POST")) {
    if (method != "HEAD") step.method = "GET";
    step.keep_body = false;
  }
  step.drop_authorization = !(from->origin == to->origin);
  return step;
}

proxy_settings resolve_proxy_settings(const std::function<const char*(const char*)>& getenv,
                                      std::string_view proxy, std::string_view no_proxy) {
  auto env = [&](const char* upper, const char* lower_name) {
    const char* v = getenv(upper);
    if (!v || !*v) v = getenv(lower_name);
    return std::string(v ? v : "");
  };
  proxy_settings s;
  s.http_proxy = env("HTTP_PROXY", "http_proxy");
  s.https_proxy = env("HTTPS_PROXY", "https_proxy");
  s.no_proxy = env("NO_PROXY", "no_proxy");
  if (proxy == "direct") {
    s.http_proxy.clear();
    s.https_proxy.clear();
  } else if (!proxy.empty()) {
    s.http_proxy = s.https_proxy = std::string(proxy);
  }
  if (!no_proxy.empty()) s.no_proxy = std::string(no_proxy);
  return s;
}

bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port) {
  std::string h = to_lower(host);
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    std::string e = to_lower(entry);
    // An entry may carry a port ("host:5000"); then only that port matches.
    if (auto colon = e.rfind(':');
        colon != std::string::npos && e.find(']') == std::string::npos && e.find(':') == colon) {
      if (e.substr(colon + 1) != std::to_string(port)) continue;
      e.resize(colon);
    }
    if (!e.empty() && e.front() == '[' && e.back() == ']') e = e.substr(1, e.size() - 2);
    if (!e.empty() && e.front() == '.') e.erase(0, 1);
    if (h == e) return true;
    if (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0 &&
        h[h.size() - e.size() - 1] == '.')
      return true;
  }
  return false;
}

result<proxy_route> parse_proxy(std::string_view setting, std::string* why) {
  // "host:port" without a scheme means http://host:port, as curl and Go read it.
  std::string url = setting.find("://") == std::string_view::npos ? "http://" + std::string(setting)
                                                                  : std::string(setting);
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return fail<proxy_route>(why, "not a proxy URL");
  boost::urls::url u(*parsed);
  proxy_route out;
  if (u.has_userinfo()) {
    // Decoded here, sent only as Proxy-Authorization; the URL without it is
    // what split_url (and every message) sees.
    std::string credentials = u.user();
    credentials += ':';
    credentials += u.password();
    out.authorization = "Basic " + coras::detail::base64_encode(credentials);
    u.remove_userinfo();
  }
  auto parts = split_url(u.buffer(), why);
  if (!parts) return fail<proxy_route>(why, why ? *why : std::string("not a proxy URL"));
  if (parts->origin.scheme != "http")
    return fail<proxy_route>(why, "only http:// proxies are supported");
  out.where = parts->origin;
  return out;
}

std::optional<proxy_route> proxy_route_for(const proxy_settings& s, const origin& target) {
  const std::string& p = target.tls() ? s.https_proxy : s.http_proxy;
  if (p.empty() || no_proxy_matches(s.no_proxy, target.host, target.port)) return std::nullopt;
  auto route = parse_proxy(p);
  if (!route) return std::nullopt;
  return *route;
}

std::optional<origin> proxy_for(const proxy_settings& s, const origin& target) {
  auto route = proxy_route_for(s, target);
  if (!route) return std::nullopt;
  return route->where;
}

send_step next_step(const send_state& s, int max_redirects, const retry_options& retry,
                    double random01, std::chrono::system_clock::time_point now) {
  send_step out;
  if (s.follow_redirects && is_redirect(s.status) && s.location) {
    if (s.redirects + 1 > max_redirects) {
      out.what = send_step::action::fail;
      out.error = errc::too_many_redirects;
      out.why = "more than " + std::to_string(max_redirects) +
                " redirects (client_options::max_redirects)";
      return out;
    }
    std::string why;
    auto hop = next_redirect(s.url, s.method, s.status, *s.location, &why);
    if (!hop) {
      out.what = send_step::action::fail;
      out.why = std::move(why);
      return out;
    }
    // Checked before anything else about the hop: a token request's form body
    // (password, refresh token) or Basic header must not reach an origin the
    // user did not name, and dropping them would only turn the refusal into a
    // confusing anonymous request there.
    if (s.carries_credentials && hop->drop_authorization) {
      auto from = split_url(s.url);
      auto to = split_url(hop->url);
      out.what = send_step::action::fail;
      out.error = errc::denied;
      out.why = "refusing to follow a redirect from " + (from ? from->origin.str() : "?") + " to " +
                (to ? to->origin.str() : "?") +
                ": the request carries credentials, which are never sent to another origin";
      return out;
    }
    // Cannot re-send the body: the caller gets the 307/308 and decides.
    if (hop->keep_body && s.rewind_body && !s.rewind_body()) return out;
    out.what = send_step::action::redirect;
    out.redirect = std::move(*hop);
    return out;
  }
  if (is_retryable_status(s.status) && s.retryable && s.attempt < retry.max_retries) {
    auto wait = backoff(retry, s.attempt, random01);
    if (s.retry_after) {
      if (auto asked = parse_retry_after(*s.retry_after, now)) {
        // Waiting longer than the caller allows is pointless: hand back the answer.
        if (*asked > retry.max_retry_after) return out;
        wait = std::max(wait, *asked);
      }
    }
    out.what = send_step::action::retry;
    out.wait = wait;
  }
  return out;
}

}  // namespace coras::http::detail

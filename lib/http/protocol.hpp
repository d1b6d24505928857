// Pure protocol decisions of the HTTP client: no sockets, no clock reads, so
// each is tested on its own (test/unit/http/protocol_test.cpp).
#pragma once

#include <coras/http/fields.hpp>
#include <coras/http/options.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace coras::http::detail {

/// Where a connection goes: scheme, host (IPv6 without brackets), port.
struct origin {
  std::string scheme;  ///< "http" or "https"
  std::string host;
  std::uint16_t port = 0;

  bool tls() const noexcept { return scheme == "https"; }
  /// host[:port] as the Host header and CONNECT want it (brackets for IPv6,
  /// port omitted when it is the scheme's default).
  std::string authority() const;
  /// Appends authority() to `out` (no string of its own).
  void append_authority(std::string& out) const;
  /// scheme://authority
  std::string str() const;
  /// Appends str() to `out`.
  void append_str(std::string& out) const;
  friend bool operator==(const origin&, const origin&) = default;
};

struct split_url_result {
  detail::origin origin;
  std::string target;  ///< path and query, at least "/"
};

/// Splits an absolute http(s) URL. Userinfo is refused (credentials travel in
/// headers, never in URLs).
boost::system::result<split_url_result> split_url(std::string_view url, std::string* why = nullptr);
/// How a request announces its body.
enum class body_framing { none, length, chunked };

/// The request line and header block of an HTTP/1.1 request, ending with the
/// blank line: `Host`, then `headers` in order, then `User-Agent` (when
/// `headers` has none), `Proxy-Authorization` (when not empty), and
/// `Content-Length: content_length` or `Transfer-Encoding: chunked` (a `Host`
/// in `headers`, and with framing their `Content-Length` and
/// `Transfer-Encoding`, are left out: those are this function's). Written
/// here rather than by Beast's serializer (a quarter of the client's work on
/// a small request). Throws errc::invalid_argument, naming the field, for a
/// name that is not an RFC 9110 token or a value with CR, LF or NUL in it (a
/// value from a hostile token server or a caller must not add a header), and
/// for a method or target with whitespace or control characters. Written
/// into `buffer` (what it held is replaced, its capacity reused: a pooled
/// connection passes the last request's).
std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const fields& headers, std::string_view user_agent,
                         std::string_view proxy_authorization, body_framing framing,
                         std::uint64_t content_length, std::string buffer = {});

/// The two halves of split_url, for the tests and the link fuzz target that
/// check they agree: the hand-written path for the URLs coras builds (nullopt
/// for anything else) and the general one (Boost.URL).
std::optional<split_url_result> split_url_simple(std::string_view url);
boost::system::result<split_url_result> split_url_general(std::string_view url,
                                                          std::string* why = nullptr);

/// The text of a `Warning` value when it is `299 - "text"` with non-empty
/// text (the form the distribution spec defines); nullopt otherwise.
std::optional<std::string> parse_warning(std::string_view value);

/// Calls `to` with each well-formed `Warning: 299` text of `headers`, for
/// the request to `url` (its credentials stripped): what
/// `client_options::on_warning` and `repository_options::on_warning` get.
/// Nothing when `to` is empty (the options' default).
void report_warnings(const std::function<void(const warning&)>& to, const fields& headers,
                     std::string_view url);

/// A `Retry-After` value as a wait from `now`: delta-seconds or an IMF-fixdate
/// HTTP-date. nullopt when malformed (negative or fractional seconds
/// included: the caller's backoff applies). A date in the past gives zero;
/// waits beyond 10,000,000 s (about 115 days; any year up to 9999) saturate
/// there, so the caller's `max_retry_after` decides, never an overflow.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

/// Statuses worth another try: 429, 502, 503, 504.
bool is_retryable_status(unsigned status) noexcept;

/// GET, HEAD, PUT, DELETE, OPTIONS.
bool is_idempotent(std::string_view method) noexcept;

/// The wait before retry number `attempt` (0-based): equal jitter over a
/// capped exponential; `random01` is a uniform sample in [0, 1).
std::chrono::milliseconds backoff(const retry_options& o, int attempt, double random01);

/// How to follow one redirect.
struct redirect_step {
  std::string url;
  std::string method;
  bool keep_body = true;  ///< false when the method turned into GET
  /// True when the origin changes: Authorization, Proxy-Authorization and
  /// Cookie are not sent there.
  bool drop_authorization = false;
};

bool is_redirect(unsigned status) noexcept;

/// The next hop of a redirect: `location` resolved against `current`; 303 (and
/// 301/302 for POST) turn the request into a bodiless GET, as browsers and Go
/// do; a change of origin drops Authorization; https → http is refused.
boost::system::result<redirect_step> next_redirect(std::string_view current,
                                                   std::string_view method, unsigned status,
                                                   std::string_view location,
                                                   std::string* why = nullptr);

/// What the client does with a response it received: hand it to the caller,
/// follow a redirect, wait and send again, or fail. The one place the order
/// of the redirect, retry and Retry-After rules is written (send_plain only
/// carries it out).
struct send_step {
  enum class action { deliver, redirect, retry, fail };
  action what = action::deliver;
  redirect_step redirect;               ///< for `redirect`
  std::chrono::milliseconds wait{};     ///< for `retry`
  errc error = errc::invalid_response;  ///< for `fail`
  std::string why;                      ///< for `fail`
};

/// The facts `next_step` decides on.
struct send_state {
  unsigned status = 0;
  std::optional<std::string_view> location;     ///< the Location header
  std::optional<std::string_view> retry_after;  ///< the Retry-After header
  std::string_view url;                         ///< the URL that answered
  std::string_view method;
  bool follow_redirects = true;
  int redirects = 0;       ///< redirects followed so far
  int attempt = 0;         ///< retries made so far
  bool retryable = false;  ///< the request may be sent again (idempotent, replayable body)
  /// The request carries credentials (http::request::carries_credentials): a
  /// redirect to another origin fails with `errc::denied`.
  bool carries_credentials = false;
  /// Rewinds the request's body for sending it again; false when it cannot
  /// be. Called only for a redirect that keeps the body (a rewind is visible:
  /// a progress display goes back to 0). Empty: the request has no body.
  std::function<bool()> rewind_body;
};

/// Redirects first (a 3xx with Location, when following): past
/// `max_redirects` fails with `errc::too_many_redirects`; one to another
/// origin of a request that carries credentials fails with `errc::denied`
/// (whatever the status, so no secret is re-sent there); a redirect that
/// must keep a body that cannot be re-sent is delivered to the caller as it
/// is. Then retries (429/502/503/504, retryable, attempts left): the backoff
/// for this attempt (`random01` in [0, 1)), raised to a Retry-After; a
/// Retry-After beyond `retry.max_retry_after` delivers the answer instead.
/// Everything else is delivered.
send_step next_step(const send_state& s, int max_redirects, const retry_options& retry,
                    double random01, std::chrono::system_clock::time_point now);

/// Proxy settings as the environment conventions have them.
struct proxy_settings {
  std::string http_proxy;   ///< for http:// origins
  std::string https_proxy;  ///< for https:// origins
  std::string no_proxy;     ///< comma-separated hosts, domains (.x or x), IPs, "*"
};

/// Reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY (upper case first, then lower case)
/// through `getenv`, then applies the explicit options: a non-empty
/// `proxy` replaces both proxies ("direct" clears them), a non-empty
/// `no_proxy` replaces the list.
proxy_settings resolve_proxy_settings(const std::function<const char*(const char*)>& getenv,
                                      std::string_view proxy, std::string_view no_proxy);

/// A proxy to connect through: where it is and, when its URL carried
/// `user:password@`, the `Proxy-Authorization` value for it (Basic). That
/// value goes to the proxy only: on the CONNECT of an https tunnel, or on
/// absolute-form requests for http origins; never to an origin, never into a
/// message or a log.
struct proxy_route {
  origin where;
  std::string authorization;  ///< "Basic …", or empty without credentials
};

/// Parses a proxy setting: `[http://][user[:password]@]host[:port]` (no
/// scheme means http, as curl and Go read it; user and password are
/// percent-decoded). Only http:// proxies (`errc::invalid_response` with
/// `why` otherwise; `why` never holds the password).
boost::system::result<proxy_route> parse_proxy(std::string_view setting,
                                               std::string* why = nullptr);

/// The proxy for `target`, or nullopt to connect directly (no proxy set,
/// NO_PROXY matches, or the setting does not parse). Only http:// proxies are
/// supported (https via CONNECT through them).
std::optional<proxy_route> proxy_route_for(const proxy_settings& s, const origin& target);

/// `proxy_route_for`'s origin alone.
std::optional<origin> proxy_for(const proxy_settings& s, const origin& target);

/// True when `host` (port `port`) matches an entry of a NO_PROXY list.
bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port);

}  // namespace coras::http::detail

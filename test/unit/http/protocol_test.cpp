#include "http/protocol.hpp"

#include <coras/core/error.hpp>
#include <coras/http/fields.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace coras::http::detail;
using namespace std::chrono_literals;

TEST_CASE("http: split_url", "[http][url]") {
  auto u = split_url("https://Registry.Example:5000/v2/a/b/tags/list?n=10&last=x");
  REQUIRE(u.has_value());
  CHECK(u->origin.scheme == "https");
  CHECK(u->origin.host == "registry.example");
  CHECK(u->origin.port == 5000);
  CHECK(u->target == "/v2/a/b/tags/list?n=10&last=x");
  CHECK(u->origin.authority() == "registry.example:5000");

  auto d = split_url("http://127.0.0.1");
  REQUIRE(d.has_value());
  CHECK(d->origin.port == 80);
  CHECK(d->target == "/");
  CHECK(d->origin.str() == "http://127.0.0.1");

  auto v6 = split_url("https://[::1]:8443/v2/");
  REQUIRE(v6.has_value());
  CHECK(v6->origin.host == "::1");
  CHECK(v6->origin.authority() == "[::1]:8443");

  std::string why;
  CHECK_FALSE(split_url("ftp://h/x", &why).has_value());
  CHECK_THAT(why, Catch::Contains("unsupported URL scheme"));
  CHECK_FALSE(split_url("https://user:pw@h/x", &why).has_value());
  CHECK_THAT(why, Catch::Contains("credentials"));
  CHECK_FALSE(split_url("/relative", &why).has_value());
  CHECK_FALSE(split_url("http://h:0/", &why).has_value());
}

TEST_CASE("http: request_head writes the request line and fields in order", "[http][request]") {
  coras::http::fields h;
  h.add("Accept", "application/vnd.oci.image.manifest.v1+json");
  h.add("Authorization", "Bearer abc");
  CHECK(request_head("HEAD", "/v2/a/manifests/v1", "127.0.0.1:5000", h, "coras/1", "",
                     body_framing::none, 0) ==
        "HEAD /v2/a/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n"
        "Accept: application/vnd.oci.image.manifest.v1+json\r\nAuthorization: Bearer abc\r\n"
        "User-Agent: coras/1\r\n\r\n");

  // The caller's User-Agent wins; Host and the framing fields are the function's.
  coras::http::fields mine;
  mine.add("User-Agent", "mine");
  mine.add("host", "elsewhere");
  mine.add("Content-Length", "7");
  CHECK(request_head("PUT", "/x", "h", mine, "coras/1", "Basic cA==", body_framing::length, 42) ==
        "PUT /x HTTP/1.1\r\nHost: h\r\nUser-Agent: mine\r\nProxy-Authorization: Basic cA==\r\n"
        "Content-Length: 42\r\n\r\n");
  CHECK(request_head("PATCH", "/u", "h", mine, "", "", body_framing::chunked, 0) ==
        "PATCH /u HTTP/1.1\r\nHost: h\r\nUser-Agent: mine\r\nTransfer-Encoding: chunked\r\n\r\n");
  // Without framing a caller's Content-Length goes as given (a HEAD's).
  CHECK(request_head("GET", "/", "h", mine, "", "", body_framing::none, 0) ==
        "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: mine\r\nContent-Length: 7\r\n\r\n");
}

// Beast 1.81 wrote field values as given: a value with CRLF (a token from a
// hostile token server, a caller's header) added headers of its own.
TEST_CASE("http: request_head refuses fields and request lines that would break the header",
          "[http][request][security]") {
  auto refused = [](std::string_view method, std::string_view target, std::string_view name,
                    std::string_view value, std::string_view words) {
    coras::http::fields h;
    h.add(name, value);
    try {
      (void)request_head(method, target, "h", h, "ua", "", body_framing::none, 0);
      FAIL("accepted " << name << ": " << value);
    } catch (const coras::error& e) {
      CHECK(e.code() == coras::errc::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(std::string(words)));
    }
  };
  refused("GET", "/", "Authorization", "Bearer x\r\nX-Injected: 1", "\"Authorization\"");
  refused("GET", "/", "Accept", "a\nb", "the value of header \"Accept\"");
  refused("GET", "/", "Accept", std::string_view("a\0b", 3), "\"Accept\"");
  refused("GET", "/", "Bad Name", "v", "the header name \"Bad Name\"");
  refused("GET", "/", "X\r\nY", "v", "the header name \"X\\x0d\\x0aY\"");
  refused("GET", "/", "", "v", "the header name");
  refused("GE T", "/", "A", "v", "the method");
  refused("GET", "/a b", "A", "v", "the request target");
  refused("GET", "/a\r\nHost: x", "A", "v", "the request target");
  refused("GET", "", "A", "v", "the request target");
}

// The hand-written split takes the URLs coras builds and agrees with the
// general (Boost.URL) one on each; everything unusual goes to the general one.
TEST_CASE("http: split_url's fast path answers what coras builds, as Boost.URL would",
          "[http][url]") {
  for (std::string_view url :
       {"http://127.0.0.1:5000/v2/a/b/manifests/v1", "https://registry.example/v2/",
        "https://r.example:443/v2/x/blobs/uploads/?digest=sha256%3Aab&mount=y&from=a%2Fb",
        "http://h", "http://h:1/", "https://h:65535/p?", "http://h/a:b@c/~_.!$&'()*+,;=/?q=/?x",
        "http://a-b.c-d:80/%41%2f"}) {
    INFO(url);
    auto simple = split_url_simple(url);
    REQUIRE(simple.has_value());
    auto general = split_url_general(url);
    REQUIRE(general.has_value());
    CHECK(simple->origin == general->origin);
    CHECK(simple->target == general->target);
  }
  for (std::string_view other :
       {"HTTP://h/", "http://H/", "https://[::1]:8443/v2/", "http://u@h/", "http://h/#f",
        "http://h?x", "http://h:/", "http://h:0/", "http://h:65536/", "http://h:2=0/x",
        "http://h/a b", "http://h/%4", "http://h/%zz", "http://h_x/", "ftp://h/", "http:///x"}) {
    INFO(other);
    CHECK_FALSE(split_url_simple(other).has_value());
  }
  auto upper = split_url("http://H:80/x");  // through the general path
  REQUIRE(upper.has_value());
  CHECK(upper->origin.host == "h");
}

// Found by fuzz/link.cpp: Boost.URL 1.81 reads "h:2=0/x" as port 2 with the
// path "=0/x" (sent as a request-target that is not a path), and wraps ports
// past 65535 into 16 bits (99999 connected to 34463).
TEST_CASE("http: split_url refuses ports out of range and ports that run into the path",
          "[http][url][fuzz]") {
  std::string why;
  for (std::string_view bad : {"https://r.example:2=0/v2/", "https://h:99999/x", "https://h:65536/",
                               "http://h:1a/", "http://h:-1/"}) {
    INFO(bad);
    why.clear();
    CHECK_FALSE(split_url(bad, &why).has_value());
    CHECK_THAT(why, Catch::Contains("invalid port"));
  }
  auto top = split_url("https://h:65535/x");
  REQUIRE(top.has_value());
  CHECK(top->origin.port == 65535);
  CHECK(top->target == "/x");
}

TEST_CASE("http: Warning headers, as oras-go accepts them", "[http][warning]") {
  CHECK(parse_warning(R"(299 - "This image is deprecated")") ==
        std::string("This image is deprecated"));
  CHECK(parse_warning(R"(299 - "x")") == std::string("x"));
  CHECK_FALSE(parse_warning(R"(299 - "")").has_value());
  CHECK_FALSE(parse_warning(R"(199 - "misc")").has_value());
  CHECK_FALSE(parse_warning(R"(299 agent "text")").has_value());
  CHECK_FALSE(parse_warning(R"(299 - "unterminated)").has_value());
  CHECK_FALSE(parse_warning("").has_value());
  CHECK_FALSE(parse_warning("garbage").has_value());

  // Every well-formed one, in order, with the URL's credentials stripped.
  coras::http::fields h;
  h.add("Warning", R"(299 - "first")");
  h.add("Warning", R"(199 - "not this")");
  h.add("warning", R"(299 - "second")");
  std::vector<coras::http::warning> got;
  coras::http::detail::report_warnings([&](const coras::http::warning& w) { got.push_back(w); }, h,
                                       "https://user:secret@r.example/v2/a/manifests/v1");
  REQUIRE(got.size() == 2);
  CHECK(got[0].text == "first");
  CHECK(got[1].text == "second");
  CHECK(got[0].url.find("secret") == std::string::npos);
  CHECK(got[0].url.find("r.example/v2/a/manifests/v1") != std::string::npos);
  // No handler (the options' default): nothing to call, nothing thrown.
  CHECK_NOTHROW(coras::http::detail::report_warnings({}, h, "https://r.example/v2/"));
}

namespace {

// One Retry-After value and the wait it gives: `wait` exactly, at least
// `wait` when `at_least`, or nothing (malformed) when `wait` is empty.
struct retry_after_row {
  std::string name;
  std::string value;
  std::optional<std::chrono::milliseconds> wait;
  bool at_least = false;
};

}  // namespace

TEST_CASE("http: Retry-After in seconds and as an HTTP-date", "[http][retry]") {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  const std::vector<retry_after_row> rows = {
      {"1. Seconds", "5", 5000ms},
      {"2. Seconds:Zero & Spaces", " 0 ", 0ms},
      {"3. Date:Future", "Sun, 06 Nov 1994 08:49:47 GMT", 10000ms},
      {"4. Date:Past is zero", "Sun, 06 Nov 1994 08:49:00 GMT", 0ms},
      {"5. Seconds:Overflow is a long wait", "99999999999999999999999",
       std::chrono::milliseconds(1000LL * 10'000'000), true},
      {"6. Malformed:Empty", "", std::nullopt},
      {"7. Malformed:Negative", "-1", std::nullopt},
      {"8. Malformed:Fraction", "1.5", std::nullopt},
      {"9. Malformed:RFC850 date", "Sunday, 06-Nov-94 08:49:37 GMT", std::nullopt},
      {"10. Malformed:Month", "Sun, 06 Xyz 1994 08:49:37 GMT", std::nullopt},
      {"11. Malformed:Hour", "Sun, 06 Nov 1994 25:49:37 GMT", std::nullopt},
      // Found by fuzz/retry_after.cpp: signs were read as numbers and days
      // past the month's end rolled over.
      {"12. Malformed:Negative hour", "Sun, 06 Nov 1994 -1:49:37 GMT", std::nullopt},
      {"13. Malformed:Negative zero seconds", "Sun, 06 Nov 1994 08:49:-0 GMT", std::nullopt},
      {"14. Malformed:31 February", "Sun, 31 Feb 1995 08:49:37 GMT", std::nullopt},
      {"15. Malformed:29 February of a common year", "Sun, 29 Feb 1995 08:49:37 GMT", std::nullopt},
      {"16. Date:29 February of a leap year", "Sun, 29 Feb 1996 08:49:37 GMT",
       std::chrono::milliseconds(1000LL * 10'000'000), true},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      auto got = parse_retry_after(row.value, now);
      if (!row.wait)
        CHECK_FALSE(got.has_value());
      else if (row.at_least)
        CHECK(got >= row.wait);
      else
        CHECK(got == row.wait);
    }
  }
}

TEST_CASE("http: backoff is capped exponential with equal jitter", "[http][retry]") {
  coras::http::retry_options o;
  o.initial_backoff = 100ms;
  o.max_backoff = 1000ms;
  CHECK(backoff(o, 0, 0.0) == 50ms);
  CHECK(backoff(o, 0, 0.999999) <= 100ms);
  CHECK(backoff(o, 1, 0.0) == 100ms);
  CHECK(backoff(o, 2, 1.0) == 400ms);
  CHECK(backoff(o, 10, 1.0) == 1000ms);  // capped
  CHECK(backoff(o, 10, 0.0) == 500ms);
  CHECK(backoff(o, 1000, 0.5) == 750ms);  // no overflow
}

TEST_CASE("http: retryable statuses and idempotent methods", "[http][retry]") {
  for (unsigned s : {429u, 502u, 503u, 504u}) CHECK(is_retryable_status(s));
  for (unsigned s : {200u, 400u, 401u, 404u, 500u, 501u}) CHECK_FALSE(is_retryable_status(s));
  for (auto m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}) CHECK(is_idempotent(m));
  for (auto m : {"POST", "PATCH"}) CHECK_FALSE(is_idempotent(m));
}

namespace {

// One redirect and the step next_redirect gives. Empty fields are not
// checked; `why` is set for a refused redirect (its text must hold `why`
// unless that is "-").
struct redirect_row {
  std::string name;
  std::string current;
  std::string method;
  unsigned status;
  std::string location;
  std::string url = {};
  std::string next_method = {};
  std::optional<bool> keep_body = {};
  std::optional<bool> drop_authorization = {};
  std::string why = {};
};

}  // namespace

TEST_CASE("http: redirects", "[http][redirect]") {
  const std::vector<redirect_row> rows = {
      {"1. GET 307 & Location:SameOrigin",
       "https://r.example/v2/a/blobs/sha256:1",
       "GET",
       307,
       "/storage/x?sig=1",
       "https://r.example/storage/x?sig=1",
       "GET",
       {},
       false},
      {"2. GET 302 & Location:OtherHost",
       "https://r.example/v2/a/blobs/sha256:1",
       "GET",
       302,
       "https://bucket.s3.example/blob?X-Amz=1",
       "",
       "",
       {},
       true},
      {"3. GET 301 & Location:OtherPort",
       "http://h:5000/a",
       "GET",
       301,
       "http://h:5001/a",
       "",
       "",
       {},
       true},
      {"4. POST 302 becomes a bodiless GET", "https://r/v2/a/blobs/uploads/", "POST", 302,
       "/elsewhere", "", "GET", false},
      {"5. PUT 307 keeps method and body", "https://r/x", "PUT", 307, "/y", "", "PUT", true},
      {"6. PUT 303 becomes GET", "https://r/x", "PUT", 303, "/y", "", "GET"},
      {"7. HEAD 303 stays HEAD", "https://r/x", "HEAD", 303, "/y", "", "HEAD"},
      {"8. Refused:https to http",
       "https://r/x",
       "GET",
       302,
       "http://r/x",
       "",
       "",
       {},
       {},
       "https to http"},
      {"9. Refused:Location empty", "https://r/x", "GET", 302, "", "", "", {}, {}, "-"},
      {"10. Refused:Location ftp", "https://r/x", "GET", 302, "ftp://r/x", "", "", {}, {}, "-"},
      {"11. Refused:Location with userinfo",
       "https://r/x",
       "GET",
       302,
       "https://u:p@r/x",
       "",
       "",
       {},
       {},
       "-"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      std::string why;
      auto step = next_redirect(row.current, row.method, row.status, row.location, &why);
      if (!row.why.empty()) {
        CHECK_FALSE(step.has_value());
        if (row.why != "-") CHECK_THAT(why, Catch::Contains(row.why));
      } else {
        REQUIRE(step.has_value());
        if (!row.url.empty()) CHECK(step->url == row.url);
        if (!row.next_method.empty()) CHECK(step->method == row.next_method);
        if (row.keep_body) CHECK(step->keep_body == *row.keep_body);
        if (row.drop_authorization) CHECK(step->drop_authorization == *row.drop_authorization);
      }
    }
  }
  CHECK(is_redirect(308));
  CHECK_FALSE(is_redirect(304));
}

TEST_CASE("http: proxy settings and NO_PROXY", "[http][proxy]") {
  std::map<std::string, std::string> env{
      {"HTTPS_PROXY", "proxy.corp:3128"},
      {"http_proxy", "http://p2:8080"},
      {"NO_PROXY", "localhost,.internal.example,10.0.0.1,reg.example:5000"}};
  auto getenv = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto s = resolve_proxy_settings(getenv, "", "");
  CHECK(s.https_proxy == "proxy.corp:3128");
  CHECK(s.http_proxy == "http://p2:8080");

  origin ghcr{"https", "ghcr.io", 443};
  auto p = proxy_for(s, ghcr);
  REQUIRE(p.has_value());
  CHECK(p->host == "proxy.corp");
  CHECK(p->port == 3128);
  CHECK(proxy_for(s, origin{"http", "h", 80})->host == "p2");
  CHECK_FALSE(proxy_for(s, origin{"https", "localhost", 443}).has_value());
  CHECK_FALSE(proxy_for(s, origin{"https", "reg.internal.example", 443}).has_value());
  CHECK_FALSE(proxy_for(s, origin{"https", "internal.example", 443}).has_value());
  CHECK(proxy_for(s, origin{"https", "notinternal.example", 443}).has_value());
  CHECK_FALSE(proxy_for(s, origin{"https", "10.0.0.1", 443}).has_value());
  CHECK_FALSE(proxy_for(s, origin{"https", "reg.example", 5000}).has_value());
  CHECK(proxy_for(s, origin{"https", "reg.example", 443}).has_value());

  CHECK(no_proxy_matches("*", "anything", 1));
  CHECK(no_proxy_matches("[::1]", "::1", 5000));
  CHECK_FALSE(no_proxy_matches("", "h", 80));

  auto direct = resolve_proxy_settings(getenv, "direct", "");
  CHECK_FALSE(proxy_for(direct, ghcr).has_value());
  auto explicit_proxy = resolve_proxy_settings(getenv, "http://o:1", "ghcr.io");
  CHECK_FALSE(proxy_for(explicit_proxy, ghcr).has_value());
  CHECK(proxy_for(explicit_proxy, origin{"https", "quay.io", 443})->host == "o");
}

TEST_CASE("http: fields are case-insensitive and keep repeats", "[http][fields]") {
  coras::http::fields f;
  f.add("Warning", "a");
  f.add("warning", "b");
  f.set("Content-Type", "x");
  CHECK(f.get("WARNING") == std::string_view("a"));
  CHECK(f.get_all("Warning").size() == 2);
  f.set("content-type", "y");
  CHECK(f.get_all("Content-Type") == std::vector<std::string_view>{"y"});
  f.erase("WARNING");
  CHECK_FALSE(f.contains("warning"));
  CHECK(f.size() == 1);
}

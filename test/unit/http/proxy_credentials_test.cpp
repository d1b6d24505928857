// Proxy settings with credentials (issue 17, item 2): `user:password@` in a
// proxy URL becomes a Proxy-Authorization value for the proxy; the origin
// the route names never carries them, and messages never show the password.
#include "core/base64.hpp"
#include "http/protocol.hpp"

#include <coras/core/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using coras::http::detail::origin;
using coras::http::detail::parse_proxy;
using coras::http::detail::proxy_route_for;
using coras::http::detail::proxy_settings;

namespace {

struct row {
  std::string name;
  std::string setting;
  bool ok;
  std::string want_where = {};        // origin.str()
  std::string want_credentials = {};  // decoded user:password, empty for none
};

}  // namespace

TEST_CASE("http: proxy URLs with and without credentials", "[http][proxy][security]") {
  const std::vector<row> rows = {
      {"1. host:port: http, no credentials", "proxy:3128", true, "http://proxy:3128"},
      {"2. http://user:pass@host:port", "http://alice:s3cret@proxy:3128", true, "http://proxy:3128",
       "alice:s3cret"},
      {"3. no scheme, with credentials", "alice:s3cret@proxy:3128", true, "http://proxy:3128",
       "alice:s3cret"},
      {"4. percent-encoded user and password are decoded", "http://al%40ce:p%3Ass%2Fw@proxy:8080",
       true, "http://proxy:8080", "al@ce:p:ss/w"},
      {"5. a user without a password", "http://alice@proxy", true, "http://proxy", "alice:"},
      {"6. https:// proxies: refused", "https://alice:s3cret@proxy:443", false},
      {"7. socks5: refused", "socks5://proxy:1080", false},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      std::string why;
      auto got = parse_proxy(r.setting, &why);
      REQUIRE(got.has_value() == r.ok);
      if (got) {
        CHECK(got->where.str() == r.want_where);
        if (r.want_credentials.empty()) {
          CHECK(got->authorization.empty());
        } else {
          CHECK(got->authorization == "Basic " + coras::detail::base64_encode(r.want_credentials));
        }
      } else {
        CHECK_FALSE(why.empty());
        CHECK(why.find("s3cret") == std::string::npos);
      }
    }
  }
}

TEST_CASE("http: the proxy route carries the credentials, NO_PROXY bypasses them",
          "[http][proxy][security]") {
  proxy_settings s;
  s.http_proxy = "http://u:p@plain-proxy:3128";
  s.https_proxy = "http://v:q@tls-proxy:3128";
  s.no_proxy = "internal.example";
  auto https = proxy_route_for(s, origin{"https", "reg.example", 443});
  REQUIRE(https.has_value());
  CHECK(https->where.str() == "http://tls-proxy:3128");
  CHECK(https->authorization == "Basic " + coras::detail::base64_encode("v:q"));
  auto http = proxy_route_for(s, origin{"http", "reg.example", 80});
  REQUIRE(http.has_value());
  CHECK(http->where.str() == "http://plain-proxy:3128");
  CHECK(http->authorization == "Basic " + coras::detail::base64_encode("u:p"));
  CHECK_FALSE(proxy_route_for(s, origin{"https", "reg.internal.example", 443}).has_value());
}

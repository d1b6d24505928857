// Credentials and redirects (issue 17, item 1): a request that carries
// credentials (a token request's form body with a password or refresh token,
// a Basic header for a token realm) is never re-sent to another origin; other
// requests follow a redirect elsewhere without Authorization. One named row
// per case of detail::next_step.
#include "http/protocol.hpp"

#include <coras/core/error.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using coras::errc;
using coras::http::detail::next_step;
using coras::http::detail::send_state;
using action = coras::http::detail::send_step::action;

namespace {

struct row {
  std::string name;
  std::string url;  // the URL that answered
  std::string method;
  unsigned status;
  std::string location;
  bool carries_credentials;
  bool follow = true;
  action want;
  errc want_error = errc::invalid_response;
  std::vector<std::string> why_mentions = {};  // for `fail`
  bool want_drop_authorization = false;        // for `redirect`
};

}  // namespace

TEST_CASE("http: a request carrying credentials never follows a redirect to another origin",
          "[http][send][security]") {
  coras::http::retry_options retry;
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  const std::vector<row> rows = {
      {"1. token POST 307 to another host: refused, both origins named",
       "https://auth.example/token",
       "POST",
       307,
       "https://evil.example/steal",
       true,
       true,
       action::fail,
       errc::denied,
       {"https://auth.example", "https://evil.example", "credentials"}},
      {"2. token POST 308 to another port of the same host: refused",
       "https://auth.example/token",
       "POST",
       308,
       "https://auth.example:8443/token",
       true,
       true,
       action::fail,
       errc::denied,
       {"https://auth.example:8443"}},
      {"3. token POST 303 elsewhere (would drop the body): still refused",
       "https://auth.example/token",
       "POST",
       303,
       "https://other.example/token",
       true,
       true,
       action::fail,
       errc::denied,
       {"https://other.example"}},
      {"4. Basic token GET 302 from http to https of the same host: another origin, refused",
       "http://auth.example/token",
       "GET",
       302,
       "https://auth.example/token",
       true,
       true,
       action::fail,
       errc::denied,
       {"http://auth.example", "https://auth.example"}},
      {"5. token POST 307 on the same origin: followed, credentials kept",
       "https://auth.example/token",
       "POST",
       307,
       "/v2/token",
       true,
       true,
       action::redirect,
       {},
       {},
       false},
      {"6. a request without credentials 307 elsewhere: followed, Authorization dropped",
       "https://r.example/v2/a/blobs/sha256:x",
       "GET",
       307,
       "https://cdn.example/blob",
       false,
       true,
       action::redirect,
       {},
       {},
       true},
      {"7. credentials and redirects not followed: the 307 is delivered",
       "https://auth.example/token", "POST", 307, "https://evil.example/steal", true, false,
       action::deliver},
      {"8. token POST 307 to a Location with userinfo: refused",
       "https://auth.example/token",
       "POST",
       307,
       "https://user:pw@auth.example/token",
       true,
       true,
       action::fail,
       errc::invalid_response,
       {"credentials in URLs"}},
      {"9. host names differing only by case are the same origin: followed",
       "https://auth.example/token",
       "POST",
       307,
       "https://AUTH.example/token2",
       true,
       true,
       action::redirect,
       {},
       {},
       false},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      send_state s;
      s.status = r.status;
      s.location = r.location;
      s.url = r.url;
      s.method = r.method;
      s.follow_redirects = r.follow;
      s.carries_credentials = r.carries_credentials;
      s.rewind_body = [] { return true; };
      auto step = next_step(s, 5, retry, 0.0, now);
      CHECK(step.what == r.want);
      if (r.want == action::fail) {
        CHECK(step.error == r.want_error);
        for (const auto& m : r.why_mentions) {
          INFO(step.why);
          CHECK(step.why.find(m) != std::string::npos);
        }
      }
      if (r.want == action::redirect)
        CHECK(step.redirect.drop_authorization == r.want_drop_authorization);
    }
  }
}

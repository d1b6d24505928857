// The send loop's decisions (detail::next_step) as a truth table: which
// response is delivered, followed, retried or fails, and in which order the
// redirect, retry and Retry-After rules apply.
#include "http/protocol.hpp"

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
  unsigned status;
  std::optional<std::string> location;
  std::optional<std::string> retry_after;
  std::string method = "GET";
  int redirects = 0;
  int attempt = 0;
  bool retryable = true;
  std::optional<bool> body_rewinds;  // nullopt: no body
  action want;
  std::string want_url = {};
  std::string want_method = {};
  std::chrono::milliseconds want_wait = {};
  errc want_error = errc::invalid_response;
};

}  // namespace

TEST_CASE("http: next_step decides deliver, redirect, retry or fail", "[http][send]") {
  coras::http::retry_options retry;
  retry.max_retries = 3;
  retry.initial_backoff = 100ms;
  retry.max_backoff = 1000ms;
  retry.max_retry_after = 5000ms;
  const int max_redirects = 2;
  const auto now =
      std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT

  const std::vector<row> rows = {
      {"1. 200: delivered", 200, {}, {}, "GET", 0, 0, true, {}, action::deliver},
      {"2. 404: delivered (not retried)", 404, {}, {}, "GET", 0, 0, true, {}, action::deliver},
      {"3. 302 relative Location: followed",
       302,
       "/b",
       {},
       "GET",
       0,
       0,
       true,
       {},
       action::redirect,
       "https://r.example/b",
       "GET"},
      {"4. 303 after POST: followed as GET",
       303,
       "/c",
       {},
       "POST",
       0,
       0,
       true,
       true,
       action::redirect,
       "https://r.example/c",
       "GET"},
      {"5. 307 with a body that rewinds: followed, same method",
       307,
       "/d",
       {},
       "PUT",
       0,
       0,
       true,
       true,
       action::redirect,
       "https://r.example/d",
       "PUT"},
      {"6. 307 with a one-shot body: delivered to the caller",
       307,
       "/d",
       {},
       "PUT",
       0,
       0,
       true,
       false,
       action::deliver},
      {"7. 301 without Location: delivered", 301, {}, {}, "GET", 0, 0, true, {}, action::deliver},
      {"8. redirect past max_redirects: too_many_redirects",
       302,
       "/e",
       {},
       "GET",
       2,
       0,
       true,
       {},
       action::fail,
       "",
       "",
       0ms,
       errc::too_many_redirects},
      {"9. https to http redirect: refused",
       302,
       "http://r.example/f",
       {},
       "GET",
       0,
       0,
       true,
       {},
       action::fail},
      {"10. 503 retryable: backoff",
       503,
       {},
       {},
       "GET",
       0,
       0,
       true,
       {},
       action::retry,
       "",
       "",
       50ms},
      {"11. 429 with Retry-After seconds above the backoff: waits for it",
       429,
       {},
       "2",
       "GET",
       1,
       1,
       true,
       {},
       action::retry,
       "",
       "",
       2000ms},
      {"12. 503 with an HTTP-date Retry-After: waits until then",
       503,
       {},
       "Sun, 06 Nov 1994 08:49:40 GMT",
       "GET",
       0,
       0,
       true,
       {},
       action::retry,
       "",
       "",
       3000ms},
      {"13. Retry-After beyond max_retry_after: delivered",
       503,
       {},
       "60",
       "GET",
       0,
       0,
       true,
       {},
       action::deliver},
      {"14. unparsable Retry-After: the backoff",
       502,
       {},
       "soon",
       "GET",
       0,
       2,
       true,
       {},
       action::retry,
       "",
       "",
       200ms},
      {"15. retries used up: delivered", 503, {}, {}, "GET", 0, 3, true, {}, action::deliver},
      {"16. not retryable (POST): delivered",
       503,
       {},
       {},
       "POST",
       0,
       0,
       false,
       {},
       action::deliver},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      send_state s;
      s.status = r.status;
      if (r.location) s.location = *r.location;
      if (r.retry_after) s.retry_after = *r.retry_after;
      s.url = "https://r.example/a";
      s.method = r.method;
      s.redirects = r.redirects;
      s.attempt = r.attempt;
      s.retryable = r.retryable;
      int rewinds = 0;
      if (r.body_rewinds)
        s.rewind_body = [&] {
          ++rewinds;
          return *r.body_rewinds;
        };
      auto step = next_step(s, max_redirects, retry, 0.0, now);
      CHECK(step.what == r.want);
      if (r.want == action::redirect) {
        CHECK(step.redirect.url == r.want_url);
        CHECK(step.redirect.method == r.want_method);
      }
      if (r.want == action::retry) CHECK(step.wait == r.want_wait);
      if (r.want == action::fail) {
        CHECK(step.error == r.want_error);
        // A limit's error names the option that raises it.
        if (r.want_error == errc::too_many_redirects)
          CHECK(step.why.find("client_options::max_redirects") != std::string::npos);
        CHECK_FALSE(step.why.empty());
      }
      // A 303 turns the request into a GET: its body is dropped, never rewound.
      if (r.status == 303) CHECK(rewinds == 0);
    }
  }
}

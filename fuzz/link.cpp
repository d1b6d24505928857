// A listing's `Link` header (tags, catalog, referrers pagination). The first
// line of the input is the URL the listing was requested from (a fixed one
// when empty), the rest the header value. Invariants: an accepted next page
// is an absolute URL on the request's origin (never steered elsewhere) that
// split_url accepts; the same Link resolved again from that page, as the
// next request would, is accepted as well when it is absolute; and
// split_url's fast path gives what Boost.URL gives wherever it answers.
#include "fuzz.hpp"

#include "http/protocol.hpp"
#include "remote/protocol.hpp"

using coras::fuzz::require;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  auto [first, link] = coras::fuzz::split(input, "\n");
  std::string_view request =
      first.empty() ? "https://registry.example/v2/repo/tags/list?n=2" : first;
  // split_url's hand-written path agrees with Boost.URL wherever it answers.
  for (std::string_view u : {request, link, input}) {
    if (auto simple = coras::http::detail::split_url_simple(u)) {
      auto general = coras::http::detail::split_url_general(u);
      require(general && general->origin == simple->origin && general->target == simple->target,
              "the fast URL split agrees with Boost.URL", u);
    }
  }
  std::string why;
  auto next = coras::remote::detail::next_page(request, link, &why);
  if (!next) {
    require(!why.empty(), "a refusal says why", input);
    return 0;
  }
  if (!*next) return 0;
  const auto& url = **next;
  auto from = coras::http::detail::split_url(request);
  auto to = coras::http::detail::split_url(url);
  require(from && to, "both ends of an accepted link are URLs", url);
  require(from->origin == to->origin, "a next page stays on the request's origin", url);
  require(!to->target.empty() && to->target.front() == '/', "the target is a path", url);
  // The next request comes from that page with the same kind of header.
  auto again = coras::remote::detail::next_page(url, link);
  if (again && *again) {
    auto third = coras::http::detail::split_url(**again);
    require(third && third->origin == from->origin, "pages stay on the origin", **again);
  }
  // The upload Location resolver shares the URL resolution.
  if (auto loc = coras::remote::detail::upload_location(request, link)) {
    auto where = coras::http::detail::split_url(*loc);
    require(where.has_value(), "an accepted upload Location is a URL", *loc);
    require(where->origin.host == from->origin.host, "an upload stays on the host", *loc);
    require(where->origin.tls() || !from->origin.tls(), "an upload never drops TLS", *loc);
  }
  return 0;
}

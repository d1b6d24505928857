// The embedded registry's request path (after URL decoding) and the other
// small grammars of a request line and its headers (lib/server/protocol):
// `n=`, Basic and Bearer credentials. Invariants: a route with a valid name
// rebuilds to a path that routes the same way; a name is never empty; a
// count is capped; Basic credentials written back read the same.
#include "fuzz.hpp"

#include "core/base64.hpp"
#include "server/protocol.hpp"

#include <coras/core/reference.hpp>

using coras::fuzz::require;
namespace d = coras::server::detail;

namespace {

std::string rebuild(const d::route& r) {
  const std::string base = "/v2/" + r.name;
  switch (r.kind) {
    case d::route_kind::tags_list: return base + "/tags/list";
    case d::route_kind::manifest: return base + "/manifests/" + r.reference;
    case d::route_kind::blob: return base + "/blobs/" + r.reference;
    case d::route_kind::upload_start: return base + "/blobs/uploads/";
    case d::route_kind::upload: return base + "/blobs/uploads/" + r.reference;
    case d::route_kind::referrers: return base + "/referrers/" + r.reference;
    default: return {};
  }
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  const auto r = d::parse_route(input);
  switch (r.kind) {
    case d::route_kind::not_found:
    case d::route_kind::base:
    case d::route_kind::catalog:
    case d::route_kind::token:
      require(r.name.empty() && r.reference.empty(), "no name outside repositories", input);
      break;
    default: {
      require(!r.name.empty(), "a repository route has a name", input);
      require(r.name_problem == coras::check_repository(r.name), "name_problem is the grammar's",
              input);
      require(r.reference.find('/') == std::string::npos, "a reference has no slash", input);
      if (r.kind == d::route_kind::upload_start || r.kind == d::route_kind::tags_list)
        require(r.reference.empty(), "no reference on upload starts and tag lists", input);
      else
        require(!r.reference.empty(), "a reference is not empty", input);
      const auto path = rebuild(r);
      const auto again = d::parse_route(path);
      require(again.kind == r.kind && again.name == r.name && again.reference == r.reference,
              "rebuild -> parse routes the same", path);
    }
  }

  std::optional<std::size_t> n;
  if (d::parse_count(input, n)) require(n && *n <= (std::size_t{1} << 30), "n is capped", input);

  if (auto c = d::parse_basic(input)) {
    require(c->username.find(':') == std::string::npos, "a user name has no colon", input);
    const auto header = "Basic " + coras::detail::base64_encode(c->username + ":" + c->password);
    auto again = d::parse_basic(header);
    require(again && again->username == c->username && again->password == c->password,
            "Basic write -> parse is stable", header);
  }
  const auto bearer = d::parse_bearer(input);
  if (!bearer.empty())
    require(d::parse_bearer("Bearer " + std::string(bearer)) == bearer, "Bearer is stable", input);
  return 0;
}

// A reference (`registry/repository[:tag][@digest]`) as users, configs and
// registries' answers give it. Invariants: what parses prints back to a
// string that parses to the same reference; its parts respect the spec's
// limits and their own grammar; resolving it against another reference
// never yields one that does not print and parse back.
#include "fuzz.hpp"

#include <coras/core/reference.hpp>

using coras::fuzz::require;

namespace {

void check_round_trip(const coras::reference& r, std::string_view input) {
  const auto printed = r.str();
  auto again = coras::reference::try_parse(printed);
  require(again.has_value(), "a parsed reference prints to one that parses", printed);
  require(*again == r, "parse -> str -> parse is stable", input);
  require(again->str() == printed, "str is a fixed point", printed);
  require(r.registry().size() + 1 + r.repository().size() <= 255, "name at most 255", input);
  require(coras::check_registry(r.registry()).empty(), "registry re-validates", input);
  require(coras::check_repository(r.repository()).empty(), "repository re-validates", input);
  if (r.has_tag()) require(coras::check_tag(r.tag()).empty(), "tag re-validates", input);
  if (r.has_digest()) {
    auto d = coras::digest::try_parse(r.digest().str());
    require(d && *d == r.digest(), "the digest re-validates", input);
  }
  require(r.name() == r.registry() + "/" + r.repository(), "name() is registry/repository", input);
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  std::string why;
  auto r = coras::reference::try_parse(input, &why);
  if (r) {
    check_round_trip(*r, input);
  } else {
    require(!why.empty(), "a refusal says why", input);
  }

  // The same text as a tag or digest relative to a fixed reference
  // (`coras pull` resolves `:tag` and `@digest` against a repository), and
  // the parts' checks on their own.
  static const auto base = coras::reference::parse("registry.example/repo/name:latest");
  if (auto resolved = base.try_resolve(input)) check_round_trip(*resolved, input);
  (void)coras::check_registry(input);
  (void)coras::check_repository(input);
  (void)coras::check_tag(input);
  return 0;
}

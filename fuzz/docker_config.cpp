// A docker config.json (~/.docker/config.json, written by docker, podman,
// other tools and people). The first line of the input names the registry
// looked up, the rest is the file. Invariants: a malformed file is a
// coras::error, never anything else; when no helper is named, storing a
// credential (unless refused) and reading it back gives that credential (for
// Docker Hub's aliases too): a file is never rewritten into one that does
// not read.
#include "fuzz.hpp"

#include "auth/docker_config_text.hpp"

#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>

using coras::fuzz::require;
namespace d = coras::auth::detail;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  auto [first, text] = coras::fuzz::split(input, "\n");
  const std::string registry = first.empty() ? "registry.example" : std::string(first);
  try {
    const auto found = d::docker_config_lookup(text, registry);
    if (found.entry) require(!found.entry->empty(), "an entry found carries something", input);
  } catch (const coras::error&) {
    return 0;  // malformed: that is the answer
  }
  const coras::auth::credential stored[] = {
      {.username = "fuzz-user", .password = "p@ss:word=="},
      {.refresh_token = "identity-token"},
      {.username = "u", .password = "", .access_token = "registry-token"},
  };
  // Only registry names are stored (anything else is refused).
  if (!coras::check_registry(registry).empty()) return 0;
  for (const auto& c : stored) {
    std::optional<std::string> written;
    try {
      written = d::docker_config_with(text, registry, c);
    } catch (const coras::error&) {
      return 0;  // refused (a number out of range): nothing written
    }
    if (!written) return 0;  // a helper stores it
    try {
      const auto back = d::docker_config_lookup(*written, registry);
      require(back.helper.empty(), "no helper appears", *written);
      require(back.entry && *back.entry == c, "store -> lookup gives the credential", *written);
      // Writing the same credential again keeps it. (Not byte for byte:
      // Boost.JSON 1.81 reads doubles imprecisely, so a number elsewhere in
      // the file, 1.0000000000000001E45, may move by an ulp per rewrite.)
      auto twice = d::docker_config_with(*written, registry, c);
      require(twice && d::docker_config_lookup(*twice, registry).entry == c,
              "storing again keeps the credential", *written);
    } catch (const coras::error& e) {
      coras::fuzz::fail("a written config reads", std::string(e.what()) + "\n" + *written);
    }
  }
  return 0;
}

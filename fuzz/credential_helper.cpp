// What a docker-credential-* helper prints for `get` (its stdout, at most
// helper_limits::output bytes; run_helper enforces that cap before parsing).
// Invariants: an answer read gives a credential that, sent back in the
// helper protocol's `store` request, reads back the same; the `<token>`
// user name turns the secret into an identity token.
#include "fuzz.hpp"

#include "auth/credential_helper.hpp"

using coras::fuzz::require;
namespace d = coras::auth::detail;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  (void)d::is_not_found_message(input);
  (void)d::helper_server_url(input);
  auto c = d::parse_get_answer(input);
  if (!c) return 0;
  require(c->access_token.empty(), "a helper never gives a registry token", input);
  require(c->refresh_token.empty() || c->username.empty(),
          "an identity token comes without a user name", input);
  const auto request = d::store_request("https://registry.example", *c);
  // A store request is the get answer's shape (plus ServerURL).
  auto back = d::parse_get_answer(request);
  require(back.has_value(), "a store request reads as an answer", request);
  require(*back == *c, "answer -> store -> answer is stable", request);
  return 0;
}

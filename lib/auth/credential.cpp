#include <coras/auth/credential.hpp>

namespace coras::auth {

namespace {
// By value: the awaitable owns its credential, whatever happens to the
// provider that made it (a capturing lambda coroutine would not).
boost::asio::awaitable<credential> ready(credential c) { co_return c; }
}  // namespace

credential_provider static_credentials(std::string registry, credential c) {
  return [registry = std::move(registry), c = std::move(c)](std::string asked) {
    return ready(asked == registry ? c : credential{});
  };
}

credential_provider callback_credentials(
    std::function<credential(std::string_view registry)> lookup) {
  return [lookup = std::move(lookup)](std::string asked) { return ready(lookup(asked)); };
}

}  // namespace coras::auth

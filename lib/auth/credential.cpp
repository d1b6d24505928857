#include <coras/auth/credential.hpp>

namespace coras::auth {

credential_provider static_credentials(std::string registry, credential c) {
  return [registry = std::move(registry),
          c = std::move(c)](std::string asked) -> boost::asio::awaitable<credential> {
    co_return asked == registry ? c : credential{};
  };
}

credential_provider callback_credentials(
    std::function<credential(std::string_view registry)> lookup) {
  return [lookup = std::move(lookup)](std::string asked) -> boost::asio::awaitable<credential> {
    co_return lookup(asked);
  };
}

}  // namespace coras::auth

// The code blocks of docs/auth.md, compiled (see readme.cpp).
#include <coras/coras.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string_view>

namespace snippets {

boost::asio::awaitable<void> authenticated(boost::asio::io_context& ioc) {
  // [snippet client]
  coras::http::client_options opts;
  opts.auth = coras::auth::make_authorizer(
      coras::auth::docker_config_credentials());   // ~/.docker/config.json, helpers
  // or: coras::auth::static_credentials("ghcr.io", {"user", "token", "", ""})
  // or: coras::auth::callback_credentials([](std::string_view registry) { return lookup(registry); });
  coras::http::client http(ioc.get_executor(), opts);
  coras::remote::repository repo(http, "ghcr.io/org/app");
  auto desc = co_await repo.async_resolve("latest");   // 401 → token → retried, invisibly
  // [end]
  (void)desc;
}

}  // namespace snippets

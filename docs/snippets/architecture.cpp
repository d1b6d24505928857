// The code blocks of docs/architecture.md, compiled (see readme.cpp).
#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/http/client.hpp>

#include <boost/asio/any_io_executor.hpp>

namespace snippets {

void composition_root(boost::asio::any_io_executor ex) {
  // [snippet composition-root]
  coras::http::client_options o;
  o.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
  coras::http::client http(ex, o);
  // [end]
}

}  // namespace snippets

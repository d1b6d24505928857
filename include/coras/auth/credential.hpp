/// @file
/// Credentials: what coras presents to a registry, and where it gets them.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace coras::auth {

/// What to present to one registry. Empty fields are absent; an all-empty
/// credential means anonymous access (anonymous tokens are still fetched when
/// a registry asks for a bearer token).
struct credential {
  std::string username;  ///< for Basic authentication or a token request
  /// Goes with `username`.
  std::string password;
  /// An OAuth2 refresh token (docker's "identity token"): exchanged for access
  /// tokens with `grant_type=refresh_token`.
  std::string refresh_token;
  /// A bearer access token sent as it is (no token service involved).
  std::string access_token;

  /// True when every field is empty (anonymous access).
  bool empty() const noexcept {
    return username.empty() && password.empty() && refresh_token.empty() && access_token.empty();
  }
  /// Member-wise equality.
  friend bool operator==(const credential&, const credential&) = default;
};

/// Supplies the credential for `registry` (`host[:port]` as references name
/// it; `docker.io` for Docker Hub, whatever host serves it). Runs on the HTTP
/// client's strand and may suspend there (e.g. while a credential helper
/// runs); must not block. Throwing fails the request that needed it.
using credential_provider = std::function<boost::asio::awaitable<credential>(std::string registry)>;

/// The same credential for `registry`, anonymous for every other registry.
credential_provider static_credentials(std::string registry, credential c);

/// Asks `lookup` (a plain function, called on the client's strand).
credential_provider callback_credentials(
    std::function<credential(std::string_view registry)> lookup);

}  // namespace coras::auth

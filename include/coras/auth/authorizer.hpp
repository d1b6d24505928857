/// @file
/// What authenticates an HTTP client's requests to registries: the auth layer's
/// implementation of the http layer's hook (client_options::auth).
#pragma once

#include <coras/auth/credential.hpp>

#include <memory>

namespace coras::http {
class authorizer;
}

namespace coras::auth {

/// An authorizer for one `http::client`: answers a registry's 401 challenge
/// with Basic credentials or a bearer token (GET from the challenge's realm,
/// or the OAuth2 POST for refresh tokens and password-only token services),
/// asks `credentials` for what to present (empty: anonymous, and anonymous
/// bearer tokens are still fetched), caches tokens per origin and scope set
/// until they expire, and fetches a token once however many requests wait for
/// it. Set it as `client_options::auth`:
///
///     coras::http::client_options o;
///     o.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
///     coras::http::client http(ex, o);
///
/// The cache lives in the authorizer, so give each client its own. Thread
/// safety: used only from its client's strand.
std::shared_ptr<http::authorizer> make_authorizer(credential_provider credentials = {});

}  // namespace coras::auth

// The seam between http and the layer above it that authenticates requests.
// http declares it and calls it; auth implements it (lib/auth/authorizer.hpp);
// whoever builds the client wires the two (client_options::auth). So http
// never knows what a credential or a token is, the way oras-go's auth.Client
// decorates an http.Client.
#pragma once

#include <coras/http/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>

namespace coras::http {

class client_impl;

class authorizer {
 public:
  virtual ~authorizer() = default;

  /// Sends `req` through `c.send_plain` (redirects and retries, no
  /// authentication), adding whatever authorization the request needs and
  /// answering challenges. Runs on `c.strand()`, after the request has passed
  /// the client's per-origin admission gate.
  virtual boost::asio::awaitable<response> send(client_impl& c, request req) = 0;

  /// Credential exchanges made so far (bearer tokens fetched), for client_stats.
  virtual std::uint64_t tokens_fetched() const noexcept { return 0; }
};

}  // namespace coras::http

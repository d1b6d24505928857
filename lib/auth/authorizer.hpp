// Answers registries' 401 challenges for the HTTP client: Basic credentials,
// and bearer tokens fetched from the realm the registry names, cached per
// origin and scope set until they expire, one fetch however many requests
// wait for the same token. Plugged into an http::client through
// client_options::auth (the http layer's hook); runs on the client's strand.
#pragma once

#include "http/authorizer.hpp"

#include <coras/auth/credential.hpp>
#include <coras/http/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace coras::auth::detail {

class authorizer final : public http::authorizer {
 public:
  explicit authorizer(credential_provider credentials);
  ~authorizer() override;

  /// Sends `req` through `c.send_plain`, adding a cached Authorization first
  /// and answering one 401 challenge (a second 401 is returned as it is).
  boost::asio::awaitable<http::response> send(http::client_impl& c, http::request req) override;

  /// Tokens fetched so far (client_stats).
  std::uint64_t tokens_fetched() const noexcept override { return tokens_fetched_.load(); }

 private:
  struct cached {
    std::string header;  // the whole Authorization value
    std::chrono::steady_clock::time_point expires;
  };
  struct flight;

  const cached* lookup(const std::string& key) const;
  boost::asio::awaitable<std::string> bearer(http::client_impl& c, const std::string& key,
                                             const std::string& request_url,
                                             const std::string& registry, std::string realm,
                                             std::string service, std::vector<std::string> scopes,
                                             std::string stale);
  boost::asio::awaitable<cached> fetch_token(http::client_impl& c, const std::string& request_url,
                                             const std::string& registry, std::string realm,
                                             std::string service, std::vector<std::string> scopes);

  struct bearer_realm {
    std::string realm;
    std::string service;
  };

  credential_provider credentials_;
  std::map<std::string, bearer_realm> realms_;  // by origin: where its tokens come from
  std::map<std::string, cached> cache_;
  std::map<std::string, std::shared_ptr<flight>> flights_;
  std::atomic<std::uint64_t> tokens_fetched_{0};  // read by stats() from any thread
};

}  // namespace coras::auth::detail

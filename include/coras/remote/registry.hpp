// A registry: ping, the catalog, and repository handles with shared options.
#pragma once

#include <coras/core/error.hpp>
#include <coras/detail/initiate.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/options.hpp>
#include <coras/remote/repository.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coras::remote {

struct registry_state;

/// A handle to one registry (`host[:port]`; `docker.io` is reached at
/// `registry-1.docker.io`). Copies are cheap and share state. Operations,
/// executors, diagnostics, thread safety and cancellation are as documented
/// on `repository`.
class registry {
 public:
  /// Throws `coras::error` (errc::invalid_reference) when `name` is not a
  /// registry name.
  registry(http::client client, std::string_view name, registry_options options = {});

  const std::string& name() const noexcept;
  const registry_options& options() const noexcept;
  const http::client& client() const noexcept;

  /// A handle to `repository` on this registry, with this registry's options.
  /// Throws `coras::error` (errc::invalid_reference) for a malformed name.
  remote::repository repository(std::string_view repository) const;

  /// `GET /v2/`: succeeds when the registry speaks the distribution API (a
  /// 200); `errc::not_found` for 404, the registry's error otherwise (401 is
  /// `errc::unauthorized`). `void(error_code)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_ping(Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::ping_start, nullptr);
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_ping(diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::ping_start, &d);
  }

  /// Lists repositories after `last` (empty: from the start) through
  /// `/v2/_catalog`, one `on_page` call per page, following `Link` within the
  /// registry's origin. `void(error_code)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_repositories(std::string last, page_handler on_page, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::repositories_start, nullptr, std::move(last),
                                            std::move(on_page));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_repositories(std::string last, page_handler on_page, diagnostics& d,
                          Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::repositories_start, &d, std::move(last),
                                            std::move(on_page));
  }

  /// Every repository, all pages gathered. `void(error_code, std::vector<std::string>)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_repositories(Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::list_repositories_start, nullptr);
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_repositories(diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &registry::list_repositories_start, &d);
  }

 private:
  template <class Sig>
  using handler = boost::asio::any_completion_handler<Sig>;

  void ping_start(diagnostics*, handler<void(error_code)>) const;
  void repositories_start(diagnostics*, handler<void(error_code)>, std::string, page_handler) const;
  void list_repositories_start(diagnostics*,
                               handler<void(error_code, std::vector<std::string>)>) const;

  std::shared_ptr<registry_state> state_;
};

}  // namespace coras::remote

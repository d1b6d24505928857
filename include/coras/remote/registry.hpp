/// @file
/// A registry: ping, the catalog, and repository handles with shared options.
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
/// `registry-1.docker.io`): ping, the catalog, and repository handles that
/// inherit its options. Copies are cheap and share state.
///
/// @par Calling convention
/// As on `repository`: every operation has an overload ending with the
/// completion token (default `coras::default_completion_token_t`, so
/// `co_await` throws `coras::error` with the whole message and the
/// registry's answer) and one taking a `coras::diagnostics&` before it,
/// filled on failure and cleared on success.
///
/// @par Object lifetimes
/// Arguments are moved into the operation, which works on a copy of the
/// handle's shared state: the handle may be moved or destroyed while
/// operations run, and a deferred operation outlives a move of the handle.
/// The `http::client` must outlive the operations; a `diagnostics&` must
/// stay alive until its operation completes.
///
/// @par Executor
/// The work runs on the HTTP client's strand; the handler runs on its
/// associated executor.
///
/// @par Per-operation cancellation
/// Terminal, for every operation: it completes with
/// `boost::asio::error::operation_aborted` and the connection in use is
/// closed.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: operations may be started from any
/// thread.
class registry {
 public:
  /// Throws `coras::error` (errc::invalid_reference) when `name` is not a
  /// registry name.
  registry(http::client client, std::string_view name, registry_options options = {});

  /// The registry name (`host[:port]`).
  const std::string& name() const noexcept;
  /// The options given at construction.
  const registry_options& options() const noexcept;
  /// The HTTP client the operations use.
  const http::client& client() const noexcept;

  /// A handle to `repository` on this registry, with this registry's options.
  /// Throws `coras::error` (errc::invalid_reference) for a malformed name.
  remote::repository repository(std::string_view repository) const;

  /// @{
  /// `GET /v2/`: succeeds when the registry speaks the distribution API (a 200).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::not_found` for a 404, the registry's error otherwise (a 401 is
  /// `errc::unauthorized`), and the HTTP client's errors.
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
  /// @}

  /// @{
  /// Lists repositories after `last` (empty: from the start) through
  /// `/v2/_catalog`, one `on_page` call per page, following `Link` within the
  /// registry's origin, at most `repository_options::max_pages` pages. `on_page`
  /// returning false stops the listing after that page (the operation then
  /// succeeds).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// What `on_page` throws; `errc::invalid_response` past `max_pages`; the
  /// registry's and the HTTP client's errors.
  ///
  /// @par Object lifetimes
  /// `on_page` is moved into the operation and called on the HTTP client's
  /// strand, one call at a time.
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
  /// @}

  /// @{
  /// Every repository, all pages gathered.
  ///
  /// @par Handler signature
  /// `void(error_code, std::vector<std::string>)`.
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
  /// @}

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

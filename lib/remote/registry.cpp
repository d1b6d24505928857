#include <coras/remote/registry.hpp>

#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"

namespace coras::remote {

namespace asio = boost::asio;
using asio::awaitable;
using state_ptr = std::shared_ptr<registry_state>;

namespace {

awaitable<void> ping(state_ptr s) {
  http::request req;
  req.url = s->base;
  auto resp = co_await detail::send(s->client, s->options, std::move(req));
  if (resp.status() != 200) co_await detail::raise_error(resp, "GET", s->base);
  co_await resp.impl()->discard();
}

awaitable<void> catalog(state_ptr s, std::string last, page_handler on_page) {
  co_await detail::list_pages(s->client, s->options, s->base + "_catalog",
                              detail::page_query(s->options.repository_list_page_size, last),
                              "repositories", "registry:catalog:*", on_page);
}

// A coroutine (not a plain return) so that `s` outlives the listing.
awaitable<std::vector<std::string>> gather(state_ptr s) {
  co_return co_await detail::gather_pages(
      s->client, s->options, s->base + "_catalog",
      detail::page_query(s->options.repository_list_page_size, {}), "repositories",
      "registry:catalog:*");
}

}  // namespace

registry::registry(http::client client, std::string_view name, registry_options options) {
  if (auto problem = check_registry(name); !problem.empty())
    throw coras::error(errc::invalid_reference,
                       "invalid registry \"" + std::string(name) + "\": " + problem);
  auto base = detail::v2_base(name, options.plain_http);
  state_ = std::make_shared<registry_state>(
      registry_state{std::move(client), std::string(name), std::move(options), std::move(base)});
}

const std::string& registry::name() const noexcept { return state_->name; }
const registry_options& registry::options() const noexcept { return state_->options; }
const http::client& registry::client() const noexcept { return state_->client; }

remote::repository registry::repository(std::string_view name) const {
  return remote::repository(state_->client, reference::from_parts(state_->name, name),
                            static_cast<const repository_options&>(state_->options));
}

void registry::ping_start(diagnostics* d, handler<void(error_code)> h) const {
  coras::detail::spawn(state_->client.impl()->strand(), ping(state_), std::move(h), d);
}

void registry::repositories_start(diagnostics* d, handler<void(error_code)> h, std::string last,
                                  page_handler on_page) const {
  coras::detail::spawn(state_->client.impl()->strand(),
                       catalog(state_, std::move(last), std::move(on_page)), std::move(h), d);
}

void registry::list_repositories_start(
    diagnostics* d, handler<void(error_code, std::vector<std::string>)> h) const {
  coras::detail::spawn(state_->client.impl()->strand(), gather(state_), std::move(h), d);
}

}  // namespace coras::remote

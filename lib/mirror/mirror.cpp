// The pull-through cache's construction and what its parts share: the
// upstream URL parsed once, the client limit (max_clients), the write refusal,
// the wake-ups of waiters, and the public make_upstream/attach. The seam's
// other members live one purpose per file (see cache.hpp).
#include "mirror/cache.hpp"

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <stdexcept>

namespace coras::mirror {
namespace detail {

void wake(std::vector<timer_ptr> waiters) {
  for (auto& t : waiters) asio::post(t->get_executor(), [t] { t->cancel(); });
}

upstream_answer error_answer(unsigned status, std::string code, std::string message) {
  upstream_answer a;
  a.status = status;
  a.code = std::move(code);
  a.message = std::move(message);
  return a;
}

upstream_answer upstream_failure(const error_code& ec, const diagnostics& diag,
                                 std::string_view not_found_code) {
  const auto words = diag.message().empty() ? ec.message() : diag.message();
  if (ec == errc::not_found) return error_answer(404, std::string(not_found_code), words);
  if (ec == errc::too_many_requests)
    return error_answer(429, "TOOMANYREQUESTS", "upstream: " + words);
  if (ec == errc::unauthorized || ec == errc::denied)
    return error_answer(ec == errc::unauthorized ? 401 : 403,
                        ec == errc::unauthorized ? "UNAUTHORIZED" : "DENIED", "upstream: " + words);
  upstream_answer a;
  a.status = 502;
  a.content_type = "text/plain; charset=utf-8";
  a.body = "upstream: " + words + "\n";
  return a;
}

cache::cache(http::client client, mirror_options o) : client_(std::move(client)), o_(std::move(o)) {
  auto url = boost::urls::parse_absolute_uri(o_.upstream);
  if (!url || (url->scheme() != "https" && url->scheme() != "http") ||
      url->encoded_host().empty() || url->has_query() || url->has_fragment())
    throw std::invalid_argument("mirror_options::upstream \"" + o_.upstream +
                                "\" is not https://HOST[:PORT][/NAMESPACE]");
  host_ = std::string(url->encoded_host_and_port());
  std::string path = url->path();
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  namespace_ = path;
  o_.repository.plain_http = url->scheme() == "http";
}

std::optional<upstream_answer> cache::refuse_write(std::string_view) {
  if (o_.allow_push) return std::nullopt;
  return error_answer(405, "UNSUPPORTED",
                      "this registry is a pull-through mirror of " + o_.upstream +
                          ": pushes and deletes are refused (mirror_options::allow_push, "
                          "coras serve --mirror-allow-push)");
}

cache::client_slot cache::enter() {
  if (clients_.fetch_add(1) >= o_.max_clients) {
    --clients_;
    return {};
  }
  return client_slot(&clients_);
}

upstream_answer cache::refusal() {
  ++refused_;
  auto a = error_answer(429, "TOOMANYREQUESTS",
                        "mirror client limit (mirror_options::max_clients = " +
                            std::to_string(o_.max_clients) + ") reached");
  a.headers.emplace_back("Retry-After", "1");
  return a;
}

std::string cache::key(std::string_view repository, std::string_view tag) {
  std::string k(repository);
  k += ':';
  k += tag;
  return k;
}

remote::repository cache::repo(std::string_view name) const {
  std::string full = host_ + "/";
  if (!namespace_.empty()) full += namespace_ + "/";
  full += name;
  return remote::repository(client_, full, o_.repository);
}

}  // namespace detail

std::shared_ptr<upstream_cache> make_upstream(http::client client, mirror_options options) {
  return std::make_shared<detail::cache>(std::move(client), std::move(options));
}

std::shared_ptr<upstream_cache> attach(server::registry_options& registry, http::client client,
                                       mirror_options options) {
  auto up = make_upstream(std::move(client), std::move(options));
  registry.upstream = up;
  return up;
}

}  // namespace coras::mirror

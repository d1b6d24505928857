#include "exchange.hpp"

#include "auth/challenge.hpp"
#include "core/json_codec.hpp"
#include "http/client_impl.hpp"
#include "http/protocol.hpp"
#include "remote/protocol.hpp"

#include <boost/json/value.hpp>

#include <utility>

namespace coras::remote::detail {

std::string v2_base(std::string_view registry, bool plain_http) {
  return std::string(plain_http ? "http://" : "https://") + registry_host(registry) + "/v2/";
}

std::string blob_url(const repository_state& s, const digest& d) {
  return s.base + "blobs/" + d.str();
}

// A request with the token scope its method needs on this repository (the
// seed's AppendRepositoryScope: pushing needs pull too). Only the authorizer
// reads scopes: a client without one gets none (two allocations a request).
http::request make_request(const repository_state& s, std::string method, std::string url) {
  http::request req;
  if (s.client.options().auth) {
    const char* actions = method == "DELETE"                      ? "delete"
                          : (method == "GET" || method == "HEAD") ? "pull"
                                                                  : "pull,push";
    req.scopes.push_back(auth::detail::repository_scope(s.ref.repository(), actions));
  }
  req.method = std::move(method);
  req.url = std::move(url);
  return req;
}

std::string page_query(std::size_t page_size, std::string_view last) {
  std::string q;
  if (page_size > 0) q = "n=" + std::to_string(page_size);
  if (!last.empty()) {
    if (!q.empty()) q += '&';
    q += "last=" + query_escape(last);
  }
  return q;
}

namespace {
awaitable<http::response> send_reporting_warnings(const http::client& client,
                                                  const repository_options& options,
                                                  http::request req) {
  auto resp = co_await client.impl()->send(std::move(req));
  http::detail::report_warnings(options.on_warning, resp.headers(), resp.url());
  co_return resp;
}
}  // namespace

// Not a coroutine itself when nobody listens for warnings: one frame less a
// request (half a KiB for each of 10,000 queued resolves).
awaitable<http::response> send(const http::client& client, const repository_options& options,
                               http::request req) {
  if (!options.on_warning) return client.impl()->send(std::move(req));
  return send_reporting_warnings(client, options, std::move(req));
}

awaitable<void> raise_error(http::response& resp, std::string_view method, std::string_view url) {
  std::string body;
  if (method != "HEAD") {
    try {
      body = co_await resp.impl()->read_all(8 * 1024);
    } catch (const boost::system::system_error&) {
      // An oversized or broken error body still leaves the status to report.
    }
  }
  throw coras::error(parse_registry_error(resp.status(), method, url, body));
}

void protocol_error(std::string_view method, std::string_view url, std::string_view what, errc e) {
  std::string msg(method);
  msg += " \"";
  msg += strip_credentials(url);
  msg += "\": ";
  msg += what;
  throw coras::error(e, msg);
}

void verify_content_digest(const http::response& resp, std::string_view method,
                           std::string_view url, const digest& expected) {
  auto header = resp.headers().get("Docker-Content-Digest");
  if (!header || header->empty()) return;
  auto d = digest::try_parse(*header);
  if (!d)
    protocol_error(
        method, url,
        "invalid response header: `Docker-Content-Digest: " + std::string(*header) + "`");
  if (*d != expected)
    protocol_error(method, url,
                   "invalid response; digest mismatch in Docker-Content-Digest: received \"" +
                       d->str() + "\" when expecting \"" + expected.str() + "\"",
                   errc::digest_mismatch);
}

namespace {

std::vector<std::string> decode_page(std::string_view body, std::string_view member,
                                     std::string_view url) {
  boost::json::value doc;
  try {
    doc = coras::detail::parse_json(body);
  } catch (const coras::detail::json_decode_error& e) {
    protocol_error("GET", url, std::string("failed to decode response: ") + e.what());
  }
  std::vector<std::string> out;
  const auto* obj = doc.if_object();
  if (!obj) protocol_error("GET", url, "failed to decode response: not a JSON object");
  const auto* list = obj->if_contains(member);
  if (!list || list->is_null()) return out;  // an empty listing may omit the member
  const auto* array = list->if_array();
  if (!array) protocol_error("GET", url, std::string(member) + ": not an array");
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto* s = (*array)[i].if_string();
    if (!s)
      protocol_error("GET", url, std::string(member) + "[" + std::to_string(i) + "]: not a string");
    out.emplace_back(s->data(), s->size());
  }
  return out;
}

}  // namespace

void listing_budget::add(std::string_view url, std::uint64_t bytes, std::uint64_t entries) {
  bytes_ += bytes;
  entries_ += entries;
  if (options_.max_listing_bytes > 0 && bytes_ > options_.max_listing_bytes)
    protocol_error("GET", url,
                   "the listing is more than " + std::to_string(options_.max_listing_bytes) +
                       " bytes (repository_options::max_listing_bytes)",
                   errc::size_limit_exceeded);
  if (options_.max_listing_entries > 0 && entries_ > options_.max_listing_entries)
    protocol_error("GET", url,
                   "the listing has more than " + std::to_string(options_.max_listing_entries) +
                       " entries (repository_options::max_listing_entries)",
                   errc::size_limit_exceeded);
}

awaitable<void> list_pages(const http::client& client, const repository_options& options,
                           std::string url, std::string first_query, std::string_view member,
                           std::string scope, const page_handler& on_page) {
  if (!first_query.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + first_query;
  listing_budget budget(options);
  for (std::size_t pages = 0;; ++pages) {
    if (pages == options.max_pages)
      protocol_error("GET", url,
                     "more than " + std::to_string(options.max_pages) +
                         " pages (repository_options::max_pages)");
    http::request req;
    req.url = url;
    req.scopes = {scope};
    auto resp = co_await send(client, options, std::move(req));
    if (resp.status() != 200) co_await raise_error(resp, "GET", url);
    auto body = co_await resp.impl()->read_all(options.max_metadata_bytes);
    auto page = decode_page(body, member, url);
    budget.add(url, body.size(), page.size());
    if (!on_page(page)) co_return;
    std::string why;
    auto next = next_page(url, resp.headers().get("Link"), &why);
    if (!next) protocol_error("GET", url, why);
    if (!*next) co_return;
    url = std::move(**next);
  }
}

awaitable<std::vector<std::string>> gather_pages(const http::client& client,
                                                 const repository_options& options, std::string url,
                                                 std::string first_query, std::string_view member,
                                                 std::string scope) {
  std::vector<std::string> all;
  co_await list_pages(client, options, std::move(url), std::move(first_query), member,
                      std::move(scope), [&](std::span<const std::string> page) {
                        all.insert(all.end(), page.begin(), page.end());
                        return true;
                      });
  co_return all;
}

}  // namespace coras::remote::detail

// What every remote operation shares: the repository's state, sending a
// request with the repository's warning handler, turning an error response
// into an exception, and following paginated listings.
#pragma once

#include "core/text.hpp"

#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/options.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::remote {

struct referrers_state;  // stores.hpp

struct repository_state {
  http::client client;
  reference ref;  // registry and repository, no tag or digest
  repository_options options;
  std::string base;  // scheme://host/v2/<repository>/
  std::shared_ptr<referrers_state> referrers;
  // Whether the registry creates the tags of `PUT …/manifests/<digest>?tag=…`
  // (it answered with OCI-Tag headers); nullopt until a multi-tag PUT tells.
  // Read and written on the client's strand.
  std::optional<bool> tags_in_put;
  std::string origin;  // scheme://host[:port]: the operations gate's key
  std::string accept;  // manifest requests' Accept value, built once
};

struct registry_state {
  http::client client;
  std::string name;
  registry_options options;
  std::string base;  // scheme://host/v2/
};

}  // namespace coras::remote

namespace coras::remote::detail {

using boost::asio::awaitable;

/// "https://host/v2/" for a registry name (docker.io → registry-1.docker.io).
std::string v2_base(std::string_view registry, bool plain_http);

/// `<base>blobs/<digest>`.
std::string blob_url(const repository_state& s, const digest& d);

/// A request with the token scope its method needs on this repository (the
/// seed's AppendRepositoryScope: pushing needs pull too).
http::request make_request(const repository_state& s, std::string method, std::string url);

using coras::detail::query_escape;  // core/text.hpp

/// Sends on the client's strand (the caller runs there) and reports the
/// response's Warning headers to `options.on_warning`.
awaitable<http::response> send(const http::client& client, const repository_options& options,
                               http::request req);

/// Throws the `coras::error` for an unexpected status: the registry's error
/// body (read up to 8 KiB) with the method and URL. (Not `throw co_await …`:
/// GCC 12 destroys an exception thrown that way twice.)
awaitable<void> raise_error(http::response& resp, std::string_view method, std::string_view url);

/// Throws `errc::invalid_response` with "METHOD "url": what".
[[noreturn]] void protocol_error(std::string_view method, std::string_view url,
                                 std::string_view what, errc e = errc::invalid_response);

/// Checks a `Docker-Content-Digest` header, when present, against `expected`.
void verify_content_digest(const http::response& resp, std::string_view method,
                           std::string_view url, const digest& expected);

/// Follows a listing (`GET url`, JSON `{member: [strings]}`, `Link`), calling
/// `on_page` per page; `first_query` ("n=…&last=…", may be empty) goes on the
/// first request only, later pages use the Link as given.
awaitable<void> list_pages(const http::client& client, const repository_options& options,
                           std::string url, std::string first_query, std::string_view member,
                           std::string scope, const page_handler& on_page);

/// The running total of one listing against `max_listing_bytes` and
/// `max_listing_entries`: `add` each page (its body's size and entry count)
/// before handing it out; past a limit it throws `errc::size_limit_exceeded`
/// naming the option.
class listing_budget {
 public:
  explicit listing_budget(const repository_options& o) : options_(o) {}
  void add(std::string_view url, std::uint64_t bytes, std::uint64_t entries);

 private:
  const repository_options& options_;
  std::uint64_t bytes_ = 0, entries_ = 0;
};

/// Every entry of a listing, all pages gathered.
awaitable<std::vector<std::string>> gather_pages(const http::client& client,
                                                 const repository_options& options, std::string url,
                                                 std::string first_query, std::string_view member,
                                                 std::string scope);

/// The query for a listing's first page: `n` when `page_size` > 0, `last` when non-empty.
std::string page_query(std::size_t page_size, std::string_view last);

}  // namespace coras::remote::detail

// Manifests through the mirror: one upstream fetch per reference however many
// clients ask (single flight), the tag re-resolution time-to-live, and the
// listings (tags, referrers) passed through from the upstream.
#include "mirror/cache.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/url.hpp>

#include <algorithm>

namespace coras::mirror::detail {

bool cache::tag_fresh(std::string_view repository, std::string_view tag) {
  std::lock_guard lock(m_);
  auto it = tag_times_.find(key(repository, tag));
  return it != tag_times_.end() && clock::now() - it->second < o_.tag_ttl;
}

awaitable<std::optional<upstream_answer>> cache::async_fetch_manifest(
    std::string repository, std::string reference, std::shared_ptr<server::content_sink> sink) {
  ++misses_;
  auto guard = enter();
  if (!guard) co_return refusal();
  // Single flight for manifests too: clients asking for the same reference
  // while it is being fetched wait for that fetch's outcome.
  std::shared_ptr<manifest_flight> f;
  bool starter = false;
  const auto k = key(repository, reference);
  {
    std::lock_guard lock(m_);
    auto& slot = manifest_flights_[k];
    if (!slot) {
      slot = std::make_shared<manifest_flight>();
      starter = true;
    }
    f = slot;
  }
  if (starter) {
    auto result = co_await fetch_manifest(repository, reference, sink);
    {
      std::lock_guard lock(m_);
      manifest_flights_.erase(k);
    }
    std::lock_guard lock(f->m);
    f->result = result;
    f->done = true;
    wake(std::move(f->waiters));
    f->waiters.clear();
    co_return result;
  }
  auto done = [&] { return f->done; };
  co_await wait_until(f->m, f->waiters, done);
  std::lock_guard lock(f->m);
  co_return f->result;
}

awaitable<std::optional<upstream_answer>> cache::fetch_manifest(
    std::string repository, std::string reference, std::shared_ptr<server::content_sink> sink) {
  const auto start = clock::now();
  const bool by_tag = reference.find(':') == std::string::npos;
  auto r = repo(repository);
  diagnostics diag;
  auto [ec, got] = co_await r.async_fetch_reference(reference, diag, tuple);
  std::string bytes;
  if (!ec) {
    auto [rec, body] = co_await got.body.async_read_all(o_.max_manifest_bytes, diag, tuple);
    ec = rec;
    bytes = std::move(body);
  }
  observe(start);
  if (ec) {
    // A tag the upstream cannot confirm now (or lacks: pushed here with
    // allow_push) is served as stored.
    if (by_tag && sink->has_manifest(repository, reference)) co_return std::nullopt;
    co_return upstream_failure(ec, diag, "MANIFEST_UNKNOWN");
  }
  upstream_bytes_ += bytes.size();
  std::string why;
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  if (!sink->put_manifest(repository, got.desc.media_type, shared, got.desc.digest,
                          by_tag ? std::string_view(reference) : std::string_view(), &why)) {
    upstream_answer a;
    a.status = 502;
    a.content_type = "text/plain; charset=utf-8";
    a.body = "upstream manifest " + reference + " not stored: " + why + "\n";
    co_return a;
  }
  {
    std::lock_guard lock(m_);
    if (by_tag) tag_times_[key(repository, reference)] = clock::now();
    remember_references(key(repository, got.desc.digest.str()), *shared);
  }
  co_return std::nullopt;
}

awaitable<upstream_answer> cache::async_list_tags(std::string repository, std::string query) {
  auto guard = enter();
  if (!guard) co_return refusal();
  auto r = repo(repository);
  diagnostics diag;
  auto [ec, tags] = co_await r.async_list_tags(diag, tuple);
  if (ec) co_return upstream_failure(ec, diag, "NAME_UNKNOWN");
  std::sort(tags.begin(), tags.end());
  // The client's pagination (n, last) is applied to the whole list.
  std::size_t n = tags.size();
  std::string last;
  try {
    boost::urls::url u;
    u.set_encoded_query(query);
    for (auto p : u.params()) {
      if (p.key == "n" && p.has_value) n = std::stoul(p.value);
      if (p.key == "last" && p.has_value) last = p.value;
    }
  } catch (const std::exception&) {  // a malformed query: the whole list
  }
  auto from = last.empty() ? tags.begin() : std::upper_bound(tags.begin(), tags.end(), last);
  boost::json::array list;
  for (auto it = from; it != tags.end() && list.size() < n; ++it) list.emplace_back(*it);
  upstream_answer a;
  a.content_type = "application/json";
  if (!list.empty() && from + static_cast<std::ptrdiff_t>(list.size()) != tags.end())
    a.headers.emplace_back("Link", "</v2/" + repository + "/tags/list?n=" + std::to_string(n) +
                                       "&last=" + std::string(list.back().as_string()) +
                                       ">; rel=\"next\"");
  boost::json::object doc;
  doc["name"] = repository;
  doc["tags"] = std::move(list);
  a.body = boost::json::serialize(doc);
  co_return a;
}

awaitable<upstream_answer> cache::async_referrers(std::string repository, digest subject,
                                                  std::string artifact_type) {
  auto guard = enter();
  if (!guard) co_return refusal();
  auto r = repo(repository);
  descriptor target;
  target.media_type = std::string(media_type::oci_manifest);
  target.digest = subject;
  image_index index;
  index.media_type = std::string(media_type::oci_index);
  remote::referrers_handler collect = [&](std::span<const descriptor> page) {
    index.manifests.insert(index.manifests.end(), page.begin(), page.end());
    return true;
  };
  diagnostics diag;
  auto [ec] = co_await r.async_referrers(target, artifact_type, collect, diag, tuple);
  if (ec) co_return upstream_failure(ec, diag, "NAME_UNKNOWN");
  upstream_answer a;
  a.content_type = std::string(media_type::oci_index);
  a.body = index.to_json();
  if (!artifact_type.empty()) a.headers.emplace_back("OCI-Filters-Applied", "artifactType");
  co_return a;
}

}  // namespace coras::mirror::detail

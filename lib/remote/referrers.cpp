// The seed's referrers machinery: listing through the Referrers API or the
// referrers tag schema, the capability state and its shared ping, and what
// a manifest push or delete does to the referrers index (the index's
// cross-process update itself is referrers_index.cpp).
#include "auth/challenge.hpp"
#include "blob_reader_impl.hpp"
#include "detail/waitable.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "referrers_index.hpp"
#include "stores.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace coras::remote {

namespace asio = boost::asio;

using coras::detail::waitable;

struct referrers_state::flight : waitable {
  using waitable::waitable;
  bool supported = false;
};

}  // namespace coras::remote

namespace coras::remote::detail {

namespace {

constexpr std::string_view zero_digest =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
constexpr std::string_view filters_annotation = "org.opencontainers.referrers.filtersApplied";

bool indexable(std::string_view media_type) {
  return media_type == coras::media_type::oci_manifest ||
         media_type == coras::media_type::oci_index ||
         media_type == coras::media_type::oci_artifact_manifest;
}

void check_metadata_size(const state_ptr& s, const descriptor& d) {
  if (static_cast<std::uint64_t>(d.size) > s->options.max_metadata_bytes)
    throw coras::error(errc::size_limit_exceeded,
                       d.digest.str() + ": manifest of " + std::to_string(d.size) +
                           " bytes exceeds the limit of " +
                           std::to_string(s->options.max_metadata_bytes) +
                           " (repository_options::max_metadata_bytes)");
}

std::string referrers_url(const repository_state& s, const digest& subject,
                          std::string_view artifact_type) {
  auto url = s.base + "referrers/" + subject.str();
  std::string query;
  if (!artifact_type.empty()) query = "artifactType=" + query_escape(artifact_type);
  if (s.options.referrer_list_page_size > 0) {
    if (!query.empty()) query += '&';
    query += "n=" + std::to_string(s.options.referrer_list_page_size);
  }
  return query.empty() ? url : url + "?" + query;
}

std::vector<descriptor> decode_index(std::string_view json, std::string_view method,
                                     std::string_view url, annotations* index_annotations) {
  std::string why;
  auto index = image_index::try_parse(json, &why);
  if (!index) protocol_error(method, url, "failed to decode referrers index: " + why);
  if (index_annotations) *index_annotations = std::move(index->annotations);
  return std::move(index->manifests);
}

// Lists by the Referrers API. Returns false when the registry lacks it (404
// without NAME_UNKNOWN, or a first answer that is not an index).
awaitable<bool> referrers_by_api(state_ptr s, descriptor subject, std::string artifact_type,
                                 referrers_handler on_page) {
  auto url = referrers_url(*s, subject.digest, artifact_type);
  listing_budget budget(s->options);
  for (std::size_t pages = 0;; ++pages) {
    if (pages == s->options.max_pages)
      protocol_error("GET", url,
                     "more than " + std::to_string(s->options.max_pages) +
                         " pages (repository_options::max_pages)");
    http::request req;
    req.url = url;
    req.scopes = {auth::detail::repository_scope(s->ref.repository(), "pull")};
    auto resp = co_await send(s->client, s->options, std::move(req));
    if (resp.status() == 404) {
      auto body = co_await resp.impl()->read_all(8 * 1024);
      auto answer = parse_registry_error(404, "GET", url, body);
      const bool name_unknown = !answer.errors.empty() && answer.errors[0].code == "NAME_UNKNOWN";
      if (name_unknown) throw coras::error(std::move(answer));  // the repository, not the API
      co_return false;
    }
    if (resp.status() != 200) co_await raise_error(resp, "GET", url);
    if (http::grammar::media_type_of(resp.headers().get("Content-Type").value_or("")) !=
        media_type::oci_index) {
      if (pages == 0) co_return false;  // not an index: not the Referrers API
      protocol_error("GET", url, "referrers page is not an image index");
    }
    auto body = co_await resp.impl()->read_all(s->options.max_metadata_bytes);
    annotations index_annotations;
    auto list = decode_index(body, "GET", url, &index_annotations);
    budget.add(url, body.size(), list.size());  // before filtering: what was read
    if (!artifact_type.empty()) {
      // Filter here unless the registry says it did (the header, or the
      // annotation of the spec's release candidates).
      auto applied = index_annotations.find(filters_annotation);
      if (!filter_applied(resp.headers().get("OCI-Filters-Applied").value_or(""), "artifactType") &&
          !(applied != index_annotations.end() && filter_applied(applied->second, "artifactType")))
        list = filter_referrers(std::move(list), artifact_type);
    }
    if (!list.empty() && !on_page(list)) co_return true;
    std::string why;
    auto next = next_page(url, resp.headers().get("Link"), &why);
    if (!next) protocol_error("GET", url, why);
    if (!*next) co_return true;
    url = std::move(**next);
  }
}

awaitable<void> referrers_by_tag_schema(state_ptr s, descriptor subject, std::string artifact_type,
                                        referrers_handler on_page) {
  auto index = co_await referrers_from_index(s, referrers_tag(subject.digest));
  if (!index) co_return;
  auto list = filter_referrers(std::move(index->referrers), artifact_type);
  if (!list.empty()) on_page(list);
}

// The seed's pingReferrers: one request with the zero digest, shared by
// every caller that asks while it is in flight.
awaitable<bool> ping_referrers(state_ptr s) {
  auto& r = *s->referrers;
  if (r.capability != referrers_state::unknown)
    co_return r.capability == referrers_state::supported;
  if (auto in_flight = r.ping) {
    co_await in_flight->wait();
    co_return in_flight->supported;
  }
  auto f = std::make_shared<referrers_state::flight>(co_await asio::this_coro::executor);
  r.ping = f;
  std::exception_ptr failure;
  try {
    http::request req;
    req.url = s->base + "referrers/" + std::string(zero_digest);
    req.scopes = {auth::detail::repository_scope(s->ref.repository(), "pull")};
    auto resp = co_await send(s->client, s->options, std::move(req));
    if (resp.status() == 200) {
      f->supported = http::grammar::media_type_of(
                         resp.headers().get("Content-Type").value_or("")) == media_type::oci_index;
      co_await resp.impl()->discard();
      set_capability(r, f->supported);
    } else if (resp.status() == 404) {
      auto body = co_await resp.impl()->read_all(8 * 1024);
      auto answer = parse_registry_error(404, "GET", req.url, body);
      if (!answer.errors.empty() && answer.errors[0].code == "NAME_UNKNOWN")
        throw coras::error(std::move(answer));
      set_capability(r, false);
    } else {
      co_await raise_error(resp, "GET", req.url);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  r.ping.reset();
  f->finish(failure);
  if (failure) std::rethrow_exception(failure);
  co_return f->supported;
}

// The referrer entry for a pushed manifest, and its subject (the seed's
// indexReferrersForPush / indexReferrersForDelete).
std::optional<std::pair<descriptor, descriptor>> referrer_of(const descriptor& desc,
                                                             std::string_view json) {
  manifest_summary m;
  try {
    m = summarize_manifest(json);
  } catch (const coras::error& e) {
    throw coras::error(e.code(), "failed to decode manifest: " + desc.digest.str() + ": " +
                                     desc.media_type + ": " + e.what());
  }
  if (!m.subject) return std::nullopt;
  descriptor entry;
  entry.media_type = desc.media_type;
  entry.digest = desc.digest;
  entry.size = desc.size;
  entry.artifact_type = m.artifact_type;
  if (entry.artifact_type.empty() && desc.media_type == media_type::oci_manifest)
    entry.artifact_type = m.config_media_type;
  entry.annotations = std::move(m.annotations);
  return std::pair{std::move(entry), std::move(*m.subject)};
}

}  // namespace

awaitable<std::optional<index_content>> referrers_from_index(state_ptr s, std::string tag) {
  std::optional<fetched> f;
  error_code missing;
  try {
    f = std::move(*co_await fetch_manifest_reference(s, tag));
  } catch (const boost::system::system_error& e) {
    if (e.code() != errc::not_found) throw;
    missing = e.code();
  }
  if (missing) co_return std::nullopt;
  check_metadata_size(s, f->desc);
  auto json = co_await f->body.impl()->read_all(s->options.max_metadata_bytes);
  index_content out;
  out.desc = f->desc;
  out.referrers = decode_index(json, "GET", s->base + "manifests/" + tag, nullptr);
  co_return out;
}

bool set_capability(referrers_state& r, bool supported) noexcept {
  int want = supported ? referrers_state::supported : referrers_state::unsupported;
  int expected = referrers_state::unknown;
  if (r.capability.compare_exchange_strong(expected, want)) return true;
  return expected == want;
}

awaitable<void> push_manifest(state_ptr s, descriptor expected,
                              std::shared_ptr<byte_source> content, std::string ref) {
  auto& r = *s->referrers;
  if (!indexable(expected.media_type) || r.capability == referrers_state::supported) {
    co_await put_manifest(s, std::move(expected), std::move(content), std::move(ref));
    co_return;
  }
  // Read once: the bytes go up and are then searched for a subject.
  check_metadata_size(s, expected);
  auto json = co_await read_body(std::move(content), expected);
  co_await put_manifest(s, expected, coras::memory_source(json), std::move(ref));
  if (r.capability == referrers_state::supported) co_return;  // learnt from OCI-Subject
  auto referrer = referrer_of(expected, json);
  if (!referrer) co_return;
  // A subject the registry did not process: it has no Referrers API.
  set_capability(r, false);
  // Named, not braced temporaries in the co_await: GCC 12 destroys those twice.
  descriptor subject = std::move(referrer->second);
  referrer_change change{std::move(referrer->first), true};
  co_await update_index(s, std::move(subject), std::move(change));
}

awaitable<void> delete_manifest(state_ptr s, descriptor target) {
  std::optional<std::pair<descriptor, descriptor>> unlisted;  // (entry, subject) taken out
  if (indexable(target.media_type) && s->referrers->capability != referrers_state::supported) {
    check_metadata_size(s, target);
    auto reader = co_await fetch_manifest(s, target);
    auto json = co_await reader.impl()->read_all(s->options.max_metadata_bytes);
    if (auto referrer = referrer_of(target, json)) {
      const bool api = co_await ping_referrers(s);
      if (!api) {
        descriptor subject = referrer->second;
        referrer_change change{referrer->first, false};
        co_await update_index(s, std::move(subject), std::move(change));
        unlisted = std::move(referrer);
      }
    }
  }
  if (!unlisted) {
    co_await delete_content(s, std::move(target), true);
    co_return;
  }
  co_await delete_contended(s, std::move(target));
  // A writer that read the index before our update may have written the
  // entry back after our read-back. Now that the manifest is gone a registry
  // that checks an index's children (distribution) refuses any such write,
  // so one more look settles it: when the entry is back, take it out again.
  auto now = co_await read_for_update(s, referrers_tag(unlisted->second.digest));
  std::vector<referrer_change> removal{{unlisted->first, false}};
  if (now.ok &&
      referrer_changes_hold(now.index ? now.index->referrers : std::vector<descriptor>{}, removal))
    co_return;
  descriptor subject = std::move(unlisted->second);
  referrer_change change{std::move(unlisted->first), false};
  co_await update_index(s, std::move(subject), std::move(change));
}

awaitable<void> referrers(state_ptr s, descriptor subject, std::string artifact_type,
                          referrers_handler on_page) {
  auto& r = *s->referrers;
  const int known = r.capability;
  if (known == referrers_state::unsupported) {
    co_await referrers_by_tag_schema(s, std::move(subject), std::move(artifact_type),
                                     std::move(on_page));
    co_return;
  }
  const bool api = co_await referrers_by_api(s, subject, artifact_type, on_page);
  if (api) {
    set_capability(r, true);
    co_return;
  }
  if (known == referrers_state::supported)
    throw coras::error(errc::unsupported, "the Referrers API did not answer for " +
                                              subject.digest.str() +
                                              " although the repository is known to support it");
  set_capability(r, false);
  co_await referrers_by_tag_schema(s, std::move(subject), std::move(artifact_type),
                                   std::move(on_page));
}

awaitable<std::vector<descriptor>> list_referrers(state_ptr s, descriptor subject,
                                                  std::string artifact_type) {
  std::vector<descriptor> all;
  co_await referrers(s, std::move(subject), std::move(artifact_type),
                     [&](std::span<const descriptor> page) {
                       all.insert(all.end(), page.begin(), page.end());
                       return true;
                     });
  co_return all;
}

}  // namespace coras::remote::detail

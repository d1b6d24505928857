// The seed's referrers machinery: listing through the Referrers API or the
// referrers tag schema, the capability state and its shared ping, and the
// index updates on manifest push and delete, merged per referrers tag.
#include "auth/challenge.hpp"
#include "blob_reader_impl.hpp"
#include "detail/waitable.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
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

struct referrers_state::merge_queue {
  struct entry {
    detail::referrer_change change;
    std::shared_ptr<waitable> waiter;
  };
  bool running = false;
  std::vector<entry> pending;
};

}  // namespace coras::remote

namespace coras::remote::detail {

namespace {

constexpr std::string_view zero_digest =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
constexpr std::string_view filters_annotation = "org.opencontainers.referrers.filtersApplied";
// On each index coras writes under a referrers tag: a random value that makes
// every write unique (see rewrite_index).
constexpr std::string_view update_annotation = "dev.coras.referrers.update";

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

struct index_content {
  descriptor desc;
  std::vector<descriptor> referrers;
};

// The index under a referrers tag, or nullopt when the tag does not exist.
awaitable<std::optional<index_content>> referrers_from_index(state_ptr s, std::string tag) {
  std::optional<fetched> f;
  error_code missing;
  try {
    f = co_await fetch_manifest_reference(s, tag);
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

// ---- updates under the referrers tag schema, across processes ----
//
// Nothing makes a tag write conditional on docker-registry (no If-Match), so
// another process may replace the index between our read and our write. Each
// update therefore reads the tag back after a pause and, when the index there
// lacks the update, merges it into that index and writes again (bounded by
// max_referrers_index_retries). Each index written carries a random
// annotation, so no two writes produce the same bytes: an index, once the tag
// has moved off it, is never the tag's target again, and deleting it (the
// seed's GC) can never delete a tag another writer just set. distribution
// resolves a tag and then reads the manifest it names, and it writes the tag's
// link file in place: a read during another writer's update can answer 404
// (the index it named was just deleted) or 500 (a half-written link). A 404
// is believed only when a second read agrees; a 5xx on the tag's read or
// write retries the round.

double random01() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// 128 random bits as hex: makes each index written unique.
std::string index_nonce() {
  std::random_device device;
  std::string out;
  constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    auto word = static_cast<std::uint32_t>(device());
    for (int j = 0; j < 8; ++j, word >>= 4) out += hex[word & 0xf];
  }
  return out;
}

awaitable<void> pause(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// What a registry answers while another writer rewrites the tag (see above).
bool transient_status(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const coras::error& e) {
    return e.registry() != nullptr && e.registry()->status >= 500;
  } catch (...) {
  }
  return false;
}

bool is_not_found(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    return e.code() == errc::not_found;
  } catch (...) {
  }
  return false;
}

// distribution refuses an index that names a manifest it does not have (400
// MANIFEST_BLOB_UNKNOWN, the digest in `detail`): a referrer deleted while
// another writer, which had read it, wrote it back. Returns that digest.
std::optional<digest> missing_child(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const coras::error& e) {
    const auto* r = e.registry();
    if (r == nullptr || r->status != 400 || r->errors.empty() ||
        r->errors[0].code != "MANIFEST_BLOB_UNKNOWN")
      return std::nullopt;
    std::string_view detail = r->errors[0].detail;  // JSON: "\"sha256:…\""
    if (detail.size() >= 2 && detail.front() == '"' && detail.back() == '"')
      detail = detail.substr(1, detail.size() - 2);
    if (auto d = digest::try_parse(detail)) return *d;
  } catch (...) {
  }
  return std::nullopt;
}

std::string message_of(const std::exception_ptr& failure) {
  diagnostics d;
  d.assign(failure);
  return d.message();
}

struct index_read {
  bool ok = false;                     // false: a transient failure, in `problem`
  std::optional<index_content> index;  // nullopt: no index under the tag
  std::string problem;
};

// The index under `tag` for an update; a 404 counts after a second read.
awaitable<index_read> read_for_update(state_ptr s, std::string tag) {
  index_read out;
  for (int reads = 0; reads < 2; ++reads) {
    std::exception_ptr failure;
    try {
      out.index = co_await referrers_from_index(s, tag);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      if (!transient_status(failure)) std::rethrow_exception(failure);
      out.problem = message_of(failure);
      co_return out;
    }
    if (out.index) break;
    if (reads == 0) {
      const auto confirm = referrers_retry_pause(s->options.referrers_index_backoff, 0, random01());
      co_await pause(confirm);
    }
  }
  out.ok = true;
  co_return out;
}

// DELETE of a manifest while other writers may rewrite the referrers tag: a
// 404 means another writer deleted it already (or an earlier attempt that
// answered 5xx did); distribution answers 500 when, deleting, it reads the
// tag's link file as another writer rewrites it: retried like the update.
awaitable<void> delete_contended(state_ptr s, descriptor target) {
  for (std::size_t attempt = 0;; ++attempt) {
    std::exception_ptr failure;
    try {
      co_await delete_content(s, target, true);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure || is_not_found(failure)) co_return;
    if (!transient_status(failure) || attempt == s->options.max_referrers_index_retries)
      std::rethrow_exception(failure);
    const auto wait =
        referrers_retry_pause(s->options.referrers_index_backoff, attempt + 1, random01());
    co_await pause(wait);
  }
}

// The digest the tag names now (HEAD), nullopt when it names none.
struct tag_head {
  bool ok = false;    // false: a transient failure, in `problem`
  bool known = true;  // false: the registry did not say (e.g. no digest header)
  std::optional<digest> target;
  std::string problem;
};

awaitable<tag_head> head_tag(state_ptr s, std::string tag) {
  tag_head out;
  std::exception_ptr failure;
  try {
    auto d = co_await resolve_manifest(s, tag);
    out.target = d.digest;
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && !is_not_found(failure)) {
    if (transient_status(failure)) {
      out.problem = message_of(failure);
      co_return out;
    }
    // A registry whose HEAD by tag carries no digest header (the seed's
    // truth table refuses that): skip the check rather than the update.
    out.known = false;
  }
  out.ok = true;
  co_return out;
}

[[noreturn]] void throw_gc_failed(const std::exception_ptr& failure, const descriptor& index,
                                  const std::string& tag, const descriptor& subject) {
  throw coras::error(errc::referrers_gc_failed, "failed to delete dangling referrers index " +
                                                    index.digest.str() + " for referrers tag " +
                                                    tag + " (subject " + subject.digest.str() +
                                                    "): " + message_of(failure));
}

// One batch of changes to the index under `tag` (the seed's prepare + update,
// read back and retried as described above).
awaitable<void> rewrite_index(state_ptr s, const descriptor& subject, const std::string& tag,
                              const std::vector<referrer_change>& changes) {
  const auto& o = s->options;
  const bool keep_old = o.skip_referrers_gc;
  std::vector<descriptor> replaced;  // indexes the tag moved off for good: deleted at the end
  std::vector<digest> gone;          // listed referrers whose manifests the registry lacks
  std::string problem;               // why the last round did not hold
  for (std::size_t round = 0;; ++round) {
    if (round > 0) {
      if (round > o.max_referrers_index_retries)
        throw coras::error(
            errc::referrers_index_conflict,
            "referrers index " + tag + " (subject " + subject.digest.str() +
                "): the update did not hold after " +
                std::to_string(o.max_referrers_index_retries) +
                " retries (repository_options::max_referrers_index_retries): " + problem);
      const auto wait = referrers_retry_pause(o.referrers_index_backoff, round, random01());
      co_await pause(wait);
    }
    const auto started = std::chrono::steady_clock::now();
    auto read = co_await read_for_update(s, tag);
    if (!read.ok) {
      problem = std::move(read.problem);
      continue;
    }
    const auto& old = read.index;
    auto updated =
        apply_referrer_changes(old ? old->referrers : std::vector<descriptor>{}, changes);
    if (!updated) break;  // the index already says what this update says
    std::erase_if(*updated, [&](const descriptor& d) {
      return std::find(gone.begin(), gone.end(), d.digest) != gone.end();
    });

    // Still the index we merged into? A writer that stalled between its
    // read and its write would otherwise replace updates that landed in
    // between (and were read back) unseen; this narrows that window to the
    // time between this HEAD and the write.
    auto head = co_await head_tag(s, tag);
    if (!head.ok) {
      problem = std::move(head.problem);
      continue;
    }
    const std::optional<digest> merged_into =
        old ? std::optional<digest>(old->desc.digest) : std::nullopt;
    if (head.known && head.target != merged_into) {
      problem = "the index changed while this update merged into it";
      continue;
    }

    // Write: the merged index under the tag; or, when it is empty and GC is
    // on, delete the old index (distribution drops the tag with it).
    std::optional<descriptor> written;
    std::exception_ptr failure;
    bool gc_write = false;
    try {
      if (!updated->empty() || keep_old) {
        // An empty index is still pushed when the old one is kept, or the tag
        // would go on naming stale referrers.
        image_index index;
        index.media_type = std::string(media_type::oci_index);
        index.manifests = *updated;  // kept: a refused write is checked against it
        index.annotations[std::string(update_annotation)] = index_nonce();
        auto json = index.to_json();
        auto desc = descriptor::for_content(media_type::oci_index, json);
        co_await put_manifest(s, desc, coras::memory_source(std::move(json)), tag);
        written = std::move(desc);
      } else if (old) {
        gc_write = true;
        co_await delete_contended(s, old->desc);
      }
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      auto child = gc_write ? std::nullopt : missing_child(failure);
      const bool drop = child && std::find(gone.begin(), gone.end(), *child) == gone.end() &&
                        std::any_of(updated->begin(), updated->end(),
                                    [&](const descriptor& d) { return d.digest == *child; });
      if (drop) {
        gone.push_back(*child);  // write again without it
      } else if (!transient_status(failure)) {
        if (gc_write) throw_gc_failed(failure, old->desc, tag, subject);
        std::rethrow_exception(failure);
      }
      problem = message_of(failure);
      continue;
    }
    if (written && old) replaced.push_back(old->desc);

    // Read back after a pause in which a writer that read the index before
    // our write landed has written too; then once more after a longer one,
    // for a writer that stalled (a loaded machine deschedules a process for
    // tens of milliseconds).
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    bool held = true;
    bool ours_gone = false;
    for (int check = 1; check <= 2 && held; ++check) {
      const auto settle =
          check * referrers_settle_pause(o.referrers_index_backoff, took, random01());
      co_await pause(settle);
      auto back = co_await read_for_update(s, tag);
      if (!back.ok) {
        problem = std::move(back.problem);
        held = false;
        break;
      }
      // Ours is gone for good when the tag names another index (see above).
      if (!ours_gone && written && back.index && back.index->desc.digest != written->digest) {
        ours_gone = true;
        replaced.push_back(*written);
      }
      held = referrer_changes_hold(back.index ? back.index->referrers : std::vector<descriptor>{},
                                   changes);
      if (!held)
        problem = back.index ? "another writer replaced it with " + back.index->desc.digest.str() +
                                   ", which lacks this update"
                             : std::string("another writer deleted it");
    }
    if (held) break;
  }
  if (keep_old) co_return;
  for (const auto& index : replaced) {
    std::exception_ptr failure;
    try {
      co_await delete_contended(s, index);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) throw_gc_failed(failure, index, tag, subject);
  }
}

// The seed's updateReferrersIndex with its merge pool: changes for one tag
// queue up while an update runs, and the next update applies them together,
// so N concurrent pushes cost far fewer than N index rewrites and none is lost.
awaitable<void> update_index(state_ptr s, descriptor subject, referrer_change change) {
  auto tag = referrers_tag(subject.digest);
  auto& merges = s->referrers->merges;
  auto& queue = merges[tag];
  if (!queue) queue = std::make_shared<referrers_state::merge_queue>();
  auto q = queue;  // the map entry may go while we wait
  auto waiter = std::make_shared<waitable>(co_await asio::this_coro::executor);
  q->pending.push_back({std::move(change), waiter});
  if (!q->running) {
    q->running = true;
    while (!q->pending.empty()) {
      auto batch = std::move(q->pending);
      q->pending.clear();
      std::vector<referrer_change> changes;
      for (const auto& e : batch) changes.push_back(e.change);
      std::exception_ptr failure;
      try {
        co_await rewrite_index(s, subject, tag, changes);
      } catch (...) {
        failure = std::current_exception();
      }
      for (auto& e : batch) e.waiter->finish(failure);
    }
    q->running = false;
    merges.erase(tag);
  }
  co_await waiter->wait();
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

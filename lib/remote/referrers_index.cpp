// The index under a referrers tag, updated across processes: nothing makes a
// tag write conditional on docker-registry, so each update is read back and
// merged again when another writer replaced it. referrers.cpp decides when an
// update is needed (a manifest push or delete without the Referrers API).
#include "referrers_index.hpp"

#include "detail/waitable.hpp"
#include "http/client_impl.hpp"

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

using coras::detail::waitable;

// Changes for one referrers tag that wait for the update running on it.
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

namespace asio = boost::asio;

namespace {

// On each index coras writes under a referrers tag: a random value that makes
// every write unique (see rewrite_index).
constexpr std::string_view update_annotation = "dev.coras.referrers.update";

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

}  // namespace

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

namespace {

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
    out.target = d->digest;
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

}  // namespace

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

}  // namespace coras::remote::detail

/// @file
/// Options shared by a registry handle and the repository handles made from it.
#pragma once

#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/http/options.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace coras::remote {

/// How blobs move: resuming broken downloads and uploads, ranged parallel
/// downloads into files, chunked uploads. Every default written here is the
/// one in force.
struct transfer_options {
  /// A download or upload whose connection breaks (or times out) is resumed
  /// where it stopped, up to this many times in a row without progress (any
  /// byte moved resets the count); 0 turns resuming off.
  int max_resumes = 5;
  /// Pause before the second and later consecutive resumes (the first one is
  /// immediate); doubles each time, up to 2 s.
  std::chrono::milliseconds resume_backoff{100};
  /// `async_fetch_to_file` fetches blobs of at least this many bytes as
  /// `parallel_downloads` ranges at once when the registry serves ranges
  /// (`Accept-Ranges: bytes`); 0 never does.
  std::uint64_t parallel_threshold = 64ull << 20;
  /// Ranges in flight for one parallel download (each on its own connection).
  std::size_t parallel_downloads = 4;
  /// Size of each range of a parallel download.
  std::uint64_t segment_size = 16ull << 20;
  /// Blobs of at least this many bytes are uploaded in chunks (POST, PATCH…,
  /// PUT) instead of one PUT; 0 uploads every blob in chunks. Smaller blobs
  /// go up monolithically, as in oras-go.
  std::uint64_t chunked_threshold = 256ull << 20;
  /// Bytes per PATCH of a chunked upload.
  std::uint64_t chunk_size = 32ull << 20;
};

/// Where a fetch starts (the seed's resume offset, as an option rather than an
/// annotation).
struct fetch_options {
  /// First byte wanted (`Range: bytes=<offset>-`).
  std::uint64_t offset = 0;
  /// The hash of the first `offset` bytes, which the caller already has (e.g.
  /// a partial file it hashed), so that the digest is still verified over the
  /// whole blob: required when `offset` > 0 (`errc::invalid_argument`
  /// otherwise), and must have seen exactly `offset` bytes. Not modified.
  std::shared_ptr<const digester> prefix;
};

/// Options of a repository handle (the seed's `RepositoryOptions`). Every
/// default written here is the one in force.
struct repository_options {
  /// Talk plain HTTP instead of HTTPS.
  bool plain_http = false;
  /// Media types sent in `Accept` when resolving or fetching a manifest by
  /// reference, and used to decide whether a descriptor names a manifest or a
  /// blob. Empty: `default_manifest_media_types()`.
  std::vector<std::string> manifest_media_types;
  /// `n` on tag listing; 0 lets the registry choose.
  std::size_t tag_list_page_size = 0;
  /// `n` on referrers listing; 0 lets the registry choose.
  std::size_t referrer_list_page_size = 0;
  /// Manifests, tag lists, catalog pages and error bodies read into memory are
  /// capped at this many bytes (`errc::size_limit_exceeded` beyond).
  std::uint64_t max_metadata_bytes = 4 * 1024 * 1024;
  /// The largest blob coras will fetch, in bytes. A size comes from the
  /// network (a descriptor in a manifest, a Content-Length from HEAD) and is
  /// checked before it sizes anything: a memory buffer, a file, the ranges of
  /// a parallel download or a progress total. Above this, fetching fails with
  /// `errc::size_limit_exceeded` naming this option; a negative size fails
  /// with `errc::invalid_response` whatever the limit. 0: no limit (sizes up
  /// to 2^63 - 1). The default, 1 TiB, is above the largest single blobs in
  /// use (model weights of several hundred GB pushed as one layer) and
  /// keeps the bookkeeping of a parallel download small (65,536 segments of
  /// 16 MiB at most).
  std::uint64_t max_blob_bytes = 1ull << 40;
  /// Pages followed through `Link` by one listing at most; a registry that
  /// keeps linking is stopped with `errc::invalid_response` (oras-go 2.6.2
  /// caps pagination the same way).
  std::size_t max_pages = 10'000;
  /// Bytes of all the pages of one listing (tags, catalog, referrers) at
  /// most; a listing that goes on past it fails with
  /// `errc::size_limit_exceeded` naming this option. Each page is capped by
  /// `max_metadata_bytes` too. 0: no limit. The default, 256 MiB, is about
  /// five million tags of typical length.
  std::uint64_t max_listing_bytes = 256ull << 20;
  /// Entries (tags, repositories, referrers) of one listing at most; past
  /// it, `errc::size_limit_exceeded` naming this option. 0: no limit.
  std::uint64_t max_listing_entries = 1'000'000;
  /// Keep the old referrers index when a push or delete rewrites it under the
  /// referrers tag schema (registries without the Referrers API). By default
  /// the old index is deleted after the new one is pushed.
  bool skip_referrers_gc = false;
  /// Registries without the Referrers API: a push or delete that rewrites the
  /// index under the referrers tag reads the tag back after writing it, since
  /// nothing stops another process from replacing the index at the same time
  /// (the merge queue serializes updates within one handle's client only).
  /// When the index read back lacks this update (another writer replaced it),
  /// or the tag could not be read or written because it was being rewritten
  /// (distribution answers 500 then), the change is merged into what the tag
  /// holds now and written again, up to this many times after the first
  /// write. Beyond, the push or delete fails with
  /// `errc::referrers_index_conflict` and a message naming this option; the
  /// manifest itself was pushed (or is still there, for a delete).
  std::size_t max_referrers_index_retries = 10;
  /// The pauses of that loop. Before the read-back: a random pause between
  /// one and two times the longer of this and the time the read and write of
  /// the index took (a writer that read the index before ours landed has
  /// written by then, so the read-back sees its update), at most 10 s; then
  /// a second read-back after twice such a pause (for a writer that stalled).
  /// Before retry n: a random pause between 0 and min(this * 2^n, 2 s), so
  /// that writers that collided do not collide again. 0: no pauses (tests).
  std::chrono::milliseconds referrers_index_backoff{50};
  /// Resume, parallel download and chunked upload settings.
  transfer_options transfer;
  /// Called for each `Warning: 299 - "…"` header on this repository's
  /// responses. Callers should de-duplicate; it may run on any thread the
  /// client's executor uses, one call at a time per client.
  std::function<void(const http::warning&)> on_warning;
};

/// Options of a registry handle: the repository options its repositories
/// inherit, plus the catalog's page size.
struct registry_options : repository_options {
  /// `n` on catalog listing; 0 lets the registry choose.
  std::size_t repository_list_page_size = 0;
};

/// Docker manifest v2 and list, OCI manifest and index, OCI artifact manifest.
std::span<const std::string> default_manifest_media_types();

/// Called with each page of a listing (tags, catalog). Return false to stop
/// after this page (the operation then succeeds); throw to fail it.
using page_handler = std::function<bool(std::span<const std::string> page)>;

/// Called with each non-empty page of referrers. Return false to stop.
using referrers_handler = std::function<bool(std::span<const descriptor> page)>;

}  // namespace coras::remote

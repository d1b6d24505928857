// The repository's internal operations that more than one file uses: the
// plain manifest operations (repository.cpp) and the referrers machinery
// built on them (referrers.cpp). All run on the HTTP client's strand.
#pragma once

#include "detail/boxed.hpp"
#include "exchange.hpp"
#include "protocol.hpp"

#include <coras/remote/blob_reader.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace coras::remote {

/// What a repository handle has learnt about the Referrers API, and the
/// coordination of its referrers index updates. Shared by copies of a handle.
struct referrers_state {
  enum : int { unknown = 0, supported = 1, unsupported = 2 };
  std::atomic<int> capability{unknown};

  // Touched only on the client's strand (every operation runs there).
  struct flight;                 // a ping that concurrent callers share
  std::shared_ptr<flight> ping;  // the one in flight, if any
  struct merge_queue;            // index updates waiting for one referrers tag
  std::map<std::string, std::shared_ptr<merge_queue>, std::less<>> merges;
};

}  // namespace coras::remote

namespace coras::remote::detail {

using state_ptr = std::shared_ptr<repository_state>;

/// Sets the capability unless already set; false when it was set to the other value.
bool set_capability(referrers_state& r, bool supported) noexcept;

// ---- repository.cpp: options helpers ----

std::span<const std::string> manifest_types(const repository_options& o);
/// The Accept header of manifest requests: the configured manifest types.
std::string accept_header(const repository_options& o);
/// Whether `d`'s media type is one of the configured manifest types.
bool names_manifest(const repository_options& o, const descriptor& d);
std::string manifest_url(const repository_state& s, std::string_view ref);
/// The token scope `repository:NAME:pull`.
std::string pull_scope(const repository_state& s);
/// The reference a by-reference operation names, or invalid_reference.
reference parse_ref(const repository_state& s, std::string_view text);
std::string content_type_of(const http::response& resp);

// ---- blobs.cpp ----

/// A reader of `resp`'s body (the content of `target`, from its first byte).
/// With `s`, a broken body is resumed from the blob endpoint.
blob_reader stream_reader(state_ptr s, http::client client, descriptor target, std::string url,
                          http::response resp);
/// GET a blob from `opts.offset`, verified over the whole blob (see fetch_options).
awaitable<blob_reader> fetch_blob(state_ptr s, descriptor target, fetch_options opts);

/// HEAD a blob: its headers after checking status and Content-Length.
awaitable<http::fields> fetch_blob_head(state_ptr s, descriptor target);
/// HEAD a blob by digest reference (the seed's blobStore.Resolve).
awaitable<descriptor> resolve_blob(state_ptr s, std::string text);
/// GET a blob by digest reference (the seed's blobStore.FetchReference).
awaitable<fetched> fetch_blob_reference(state_ptr s, std::string text);
/// Cross-repository mount, streaming from the source when the registry will not.
awaitable<void> mount_blob(state_ptr s, descriptor desc, std::string from,
                           content_factory get_content);
/// DELETE by digest on the manifest or blob endpoint.
awaitable<void> delete_content(state_ptr s, descriptor target, bool manifest);

// ---- manifests.cpp ----

/// GET a manifest by descriptor (Content-Type, length and digest header checked).
awaitable<blob_reader> fetch_manifest(state_ptr s, descriptor target);
/// GET a manifest by tag or digest (the seed's FetchReference). Boxed
/// (detail/boxed.hpp): an operation's result moves as a pointer.
awaitable<coras::detail::boxed<fetched>> fetch_manifest_reference(state_ptr s, std::string text);
/// PUT a manifest under `ref` (no referrers indexing). True when the registry
/// answered with an `OCI-Subject` header (it processed a subject itself).
awaitable<bool> put_manifest(state_ptr s, descriptor expected, std::shared_ptr<byte_source> content,
                             std::string ref);
/// The whole of `content`, checked against `expected`'s size and digest.
awaitable<std::string> read_body(std::shared_ptr<byte_source> content, const descriptor& expected);
/// HEAD a manifest by tag or digest (the seed's Resolve). Boxed, as above.
awaitable<coras::detail::boxed<descriptor>> resolve_manifest(state_ptr s, std::string text);
/// Pushes a manifest under a tag or digest reference, indexing referrers.
awaitable<void> push_manifest_reference(state_ptr s, descriptor expected,
                                        std::shared_ptr<byte_source> content, std::string text);
/// Points tag `text` at `desc` (GET the manifest, PUT it under the tag).
awaitable<void> tag_manifest(state_ptr s, descriptor desc, std::string text);
/// Pushes a manifest by digest and points each of `tags` (tags or references
/// holding one) at it: one PUT with `?tag=` parameters when the registry
/// creates them (OCI-Tag headers), one PUT per tag it did not confirm.
awaitable<void> push_manifest_tags(state_ptr s, descriptor expected,
                                   std::shared_ptr<byte_source> content,
                                   std::vector<std::string> tags);
/// Points each of `tags` at `desc`, as `push_manifest_tags` with the
/// manifest fetched first.
awaitable<void> tag_manifest_n(state_ptr s, descriptor desc, std::vector<std::string> tags);

// ---- download.cpp ----
/// Streams blob `target` into `path` + ".partial" (continuing a partial file
/// left by an earlier attempt), in parallel ranges when it is big, verifies
/// it and renames it to `path`. A failure keeps the verified-contiguous
/// prefix for the next attempt, except a digest mismatch, which removes it.
awaitable<void> download_blob(state_ptr s, descriptor target, std::filesystem::path path);

// ---- upload.cpp ----
/// POST, then the content in one PUT or in PATCH chunks, resuming after a
/// broken connection from the offset the registry reports.
awaitable<void> push_blob(state_ptr s, descriptor expected, std::shared_ptr<byte_source> content);
/// The same from an upload session already open (a mount answered 202):
/// `post` is that answer, `post_url` the request's URL.
awaitable<void> upload_to_session(state_ptr s, std::string post_url, http::response& post,
                                  descriptor expected, std::shared_ptr<byte_source> content);
/// The upload body for `expected`: checked against its size up front when the
/// source knows it, else wrapped so that it is checked while sent.
std::shared_ptr<byte_source> upload_body(std::shared_ptr<byte_source> content,
                                         const descriptor& expected);

// ---- referrers.cpp ----

/// The seed's pushWithIndexing: a manifest push that keeps the referrers
/// index up to date on a registry without the Referrers API.
awaitable<void> push_manifest(state_ptr s, descriptor expected,
                              std::shared_ptr<byte_source> content, std::string ref);
/// The seed's deleteWithIndexing.
awaitable<void> delete_manifest(state_ptr s, descriptor target);
/// The seed's Referrers.
awaitable<void> referrers(state_ptr s, descriptor subject, std::string artifact_type,
                          referrers_handler on_page);
/// The seed's Predecessors (with an optional artifact type).
awaitable<std::vector<descriptor>> list_referrers(state_ptr s, descriptor subject,
                                                  std::string artifact_type);

}  // namespace coras::remote::detail

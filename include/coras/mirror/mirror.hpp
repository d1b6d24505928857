/// @file
/// A pull-through cache: the embedded registry (`coras::server::registry`) in
/// front, a remote registry behind, joined through the registry's seam
/// (`<coras/server/upstream.hpp>`). A manifest or blob the registry lacks is
/// fetched upstream with the repository API (the client's auth, TLS, proxy,
/// retries and resumable, verifying reads), stored and served; N clients
/// asking for the same absent blob cause one upstream fetch, and each is
/// streamed the bytes as they arrive.
///
///     coras::http::client_options co;
///     co.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
///     coras::http::client upstream_client(ex, co);
///     coras::server::registry_options o;
///     coras::mirror::mirror_options m;
///     m.upstream = "https://registry-1.docker.io/library";
///     coras::mirror::attach(o, upstream_client, m);
///     coras::server::registry reg(ex, o);
///     reg.start();   // GET /v2/alpine/manifests/3 fetches library/alpine:3
#pragma once

#include <coras/http/client.hpp>
#include <coras/remote/options.hpp>
#include <coras/server/registry.hpp>
#include <coras/server/upstream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace coras::mirror {

/// What a mirror does and how far it goes. Every limit, when hit, is named in
/// the answer the client gets.
struct mirror_options {
  /// `https://HOST[:PORT][/NAMESPACE]` (`http://` for a plain-HTTP upstream).
  /// A request for `<name>` is fetched from `NAMESPACE/<name>` upstream.
  std::string upstream;
  /// A tag's manifest is re-resolved upstream when it was fetched longer ago
  /// than this (digests never are: they are immutable). When the upstream
  /// cannot be reached then, the stored manifest is served.
  std::chrono::seconds tag_ttl{300};
  /// false: pushes, uploads and deletes answer 405 `UNSUPPORTED` naming this
  /// option; true: they are stored locally (and shadow the upstream).
  bool allow_push = false;
  /// Blob fetches running upstream at once; more wait for a slot (their
  /// clients wait too). Single flight: one fetch per blob however many
  /// clients ask.
  std::size_t max_upstream_fetches = 16;
  /// Client requests waiting on the upstream at once (being streamed a blob
  /// still arriving, or waiting for a manifest); beyond it: 429
  /// `TOOMANYREQUESTS` naming `mirror_options::max_clients`.
  std::size_t max_clients = 512;
  /// Bytes of blobs this mirror fetched that its store may hold; 0: no limit.
  /// Beyond it, the least recently used blobs that no manifest the mirror
  /// stored references are unlinked from the store (`mirror_stats::evictions`);
  /// blobs referenced by stored manifests are kept, so the store may stay
  /// above the limit (`mirror_stats::store_bytes` says by how much).
  std::uint64_t max_store_bytes = 0;
  /// Largest manifest fetched upstream.
  std::uint64_t max_manifest_bytes = 4 * 1024 * 1024;
  /// Bytes of a blob being fetched that its flight keeps in memory for the
  /// clients streaming it: the most recent ones (plus the piece arriving,
  /// up to 256 KiB). A client further behind reads from what the store has
  /// written, so a flight's memory does not grow with the blob or with its
  /// slowest client. When the store fails (a full disk), that flight keeps
  /// every byte from then on in memory instead, so that its clients are
  /// still served. 0: only the piece arriving.
  std::uint64_t max_flight_buffer_bytes = 8 * 1024 * 1024;
  /// How the upstream is read: `transfer` (resume attempts, backoff),
  /// `max_blob_bytes`, media types. `plain_http` is taken from `upstream`.
  remote::repository_options repository;
};

/// Counters of one mirror (also at `GET /metrics`).
struct mirror_stats {
  std::uint64_t hits = 0;              ///< blob GETs served from the store
  std::uint64_t misses = 0;            ///< manifest and blob reads that asked the upstream
  std::uint64_t upstream_fetches = 0;  ///< blob fetches started upstream
  std::uint64_t upstream_bytes = 0;    ///< bytes read from the upstream
  std::uint64_t bytes_served = 0;      ///< blob bytes sent to clients (hits and streams)
  std::uint64_t in_flight = 0;         ///< blob fetches running now
  std::uint64_t evictions = 0;         ///< blobs evicted from the store
  std::uint64_t refused_clients = 0;   ///< 429s for `max_clients`
  std::uint64_t failed_fetches = 0;    ///< upstream fetches that ended in an error
  std::uint64_t store_bytes = 0;       ///< bytes of the fetched blobs the store holds
  /// Bytes the blob flights hold in memory now (see `max_flight_buffer_bytes`).
  std::uint64_t buffered_bytes = 0;
  /// The most bytes the blob flights held in memory at once so far.
  std::uint64_t buffered_bytes_peak = 0;
};

/// The upstream a registry consults (`registry_options::upstream`), with its
/// counters. Thread-safe; shared by any number of registries.
class upstream_cache : public server::upstream {
 public:
  /// The counters so far (what `GET /metrics` shows); any thread.
  virtual mirror_stats stats() const noexcept = 0;
};

/// Makes the upstream for `options`, fetching through `client` (its
/// authorizer, TLS, proxy and retry options apply; its executor runs the
/// fetches' I/O). Throws `std::invalid_argument` when `options.upstream` is
/// not an `http(s)://HOST[/NAMESPACE]` URL.
std::shared_ptr<upstream_cache> make_upstream(http::client client, mirror_options options);

/// `registry.upstream = make_upstream(client, options)`; returns it.
std::shared_ptr<upstream_cache> attach(server::registry_options& registry, http::client client,
                                       mirror_options options);

}  // namespace coras::mirror

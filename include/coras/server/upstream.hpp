/// @file
/// The registry's seam for a pull-through cache: what the embedded registry
/// asks an `upstream` when a manifest or blob is absent from its storage, and
/// what it lets that upstream store (`content_sink`). The server declares
/// these interfaces and knows nothing of how an upstream fetches; the mirror
/// layer (`<coras/mirror/mirror.hpp>`) implements them with the repository
/// API. Set one with `registry_options::upstream`.
#pragma once

#include <coras/core/digest.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coras::server {

/// Where an upstream puts what it fetched: the registry's storage. Every
/// member is thread-safe (the storage's mutex), none blocks on a socket.
class content_sink {
 public:
  virtual ~content_sink() = default;

  /// A blob being stored as it arrives. `append` and `commit` are called by
  /// one fetch at a time (not thread-safe with each other); `read_at` may be
  /// called from any thread at once with them and with itself. Destroyed
  /// without `commit`, it stores nothing.
  class blob_writer {
   public:
    virtual ~blob_writer() = default;
    /// Appends `bytes`; false on a write error (the fetch should stop).
    virtual bool append(std::string_view bytes) = 0;
    /// Verifies what was appended against `expected` and makes it a blob of
    /// the writer's repository; false (nothing stored) on a mismatch or an
    /// I/O error.
    virtual bool commit(const digest& expected) = 0;
    /// Copies bytes already appended (by `append` calls that returned true),
    /// from `offset`, into `out`; returns how many, 0 when they cannot be
    /// read. They stay readable until the writer is destroyed: after `commit`
    /// (the committed blob may since have been removed), and after a failed
    /// `append` (the bytes appended before it). A mirror's clients that fell
    /// behind the bytes it keeps in memory read here.
    virtual std::size_t read_at(std::uint64_t offset, std::span<char> out) = 0;
  };

  /// A writer for a blob of `repository` (no upload quota applies); null when
  /// the store cannot take one (nothing is stored then).
  virtual std::unique_ptr<blob_writer> begin_blob(std::string_view repository) = 0;

  /// Stores a manifest fetched upstream, and points `tag` at it when `tag` is
  /// not empty. Unlike a client's PUT, the blobs it references need not be
  /// present (they are fetched when asked for). False, with `*why` set, when
  /// `bytes` are not a manifest of `media_type` or their digest is not `d`.
  virtual bool put_manifest(std::string_view repository, std::string_view media_type,
                            std::shared_ptr<const std::string> bytes, const digest& d,
                            std::string_view tag, std::string* why) = 0;

  /// Whether manifest `reference` (tag or digest) of `repository` is stored.
  virtual bool has_manifest(std::string_view repository, std::string_view reference) = 0;

  /// Unlinks blob `d` from `repository` (an eviction); its bytes go with
  /// their last link. False when it was not there.
  virtual bool remove_blob(std::string_view repository, const digest& d) = 0;
};

/// A response body whose bytes may still be arriving (a blob being fetched
/// upstream). Shared by the registry's connection that sends it; it may be
/// read from any executor.
class body_stream {
 public:
  virtual ~body_stream() = default;
  /// The whole blob's size (the response's `Content-Length` or range total).
  virtual std::uint64_t size() const noexcept = 0;
  /// Copies bytes from `offset` (< `size()`) into `buffer`, waiting until at
  /// least one byte there has arrived; returns how many (> 0). Throws when
  /// they never will (the upstream fetch failed, or its content did not match
  /// its digest): the registry then closes the connection before the end of
  /// the body, so that no client takes a partial or wrong blob for a whole one.
  virtual boost::asio::awaitable<std::size_t> async_read_at(std::uint64_t offset,
                                                            boost::asio::mutable_buffer buffer) = 0;
};

/// A response an upstream decides (a listing passed through, a refusal, an
/// error): sent as is.
struct upstream_answer {
  unsigned status = 200;  ///< the HTTP status sent
  /// With a registry error code ("MANIFEST_UNKNOWN", "TOOMANYREQUESTS"): the
  /// spec's JSON error with `message` as its detail; else `body` of
  /// `content_type`.
  std::string code;
  std::string message;                            ///< the error's detail (with `code`)
  std::string content_type = "application/json";  ///< of `body` (without `code`)
  std::string body;                               ///< sent as is (without `code`)
  /// Only `Link`, `Retry-After` and `OCI-Filters-Applied` are sent.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What the registry consults when content is absent. The registry's
/// coroutines co_await these on its own strand; an implementation must not
/// block and must be safe to call from several registries (threads) at once.
class upstream {
 public:
  virtual ~upstream() = default;

  /// Whether the stored manifest of `tag` may be served without asking the
  /// upstream again (a tag re-resolution time-to-live). Digests never ask.
  virtual bool tag_fresh(std::string_view repository, std::string_view tag) = 0;

  /// Fetches manifest `reference` (tag or digest) of `repository` and stores
  /// it through `sink`. Nothing (nullopt): the registry serves it from its
  /// storage now (a stale tag is served when the upstream is unreachable);
  /// else the answer to send (404, 429, 502, ...).
  virtual boost::asio::awaitable<std::optional<upstream_answer>> async_fetch_manifest(
      std::string repository, std::string reference, std::shared_ptr<content_sink> sink) = 0;

  /// A blob that is absent from `repository`: its bytes as they arrive (the
  /// upstream stores them through `sink`), or the answer to send instead.
  struct blob_result {
    std::shared_ptr<body_stream> body;      ///< the bytes as they arrive (when fetched)
    std::optional<upstream_answer> answer;  ///< or the answer to send instead
  };
  /// Opens blob `d` of `repository` upstream (see blob_result).
  virtual boost::asio::awaitable<blob_result> async_open_blob(
      std::string repository, digest d, std::shared_ptr<content_sink> sink) = 0;

  /// `GET /v2/<name>/tags/list` and `GET /v2/<name>/referrers/<digest>`:
  /// passed through (`query` is the request's query string, without `?`).
  virtual boost::asio::awaitable<upstream_answer> async_list_tags(std::string repository,
                                                                  std::string query) = 0;
  /// The referrers of `subject`, filtered by `artifact_type` when not empty.
  virtual boost::asio::awaitable<upstream_answer> async_referrers(std::string repository,
                                                                  digest subject,
                                                                  std::string artifact_type) = 0;

  /// A push, delete or upload to `repository`: the refusal to send, or
  /// nullopt to let the registry store it locally.
  virtual std::optional<upstream_answer> refuse_write(std::string_view repository) = 0;

  /// A blob GET of `d` in `repository` answered from the storage (a cache
  /// hit) of `bytes` bytes.
  virtual void served_from_store(std::string_view repository, const digest& d,
                                 std::uint64_t bytes) noexcept = 0;

  /// `GET /metrics`: Prometheus text exposition format.
  virtual std::string metrics() = 0;
};

}  // namespace coras::server

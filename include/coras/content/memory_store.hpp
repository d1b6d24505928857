/// @file
/// A content store held in memory: blobs and manifests by digest, tags, and
/// referrers. For tests, for staging a small graph before a copy, and as the
/// reference behaviour of `content::store`.
#pragma once

#include <coras/content/store.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace coras::content {

/// Content in memory. Everything pushed is kept until the store is
/// destroyed; nothing is ever deleted.
///
/// - `push` reads the source to its end and checks size and digest (the
///   hash is skipped when the source's `verified_digest()` is the expected
///   digest); content that fails is not kept. Pushing a digest the store
///   already holds does not read the source.
/// - `fetch` hands out a source over the stored bytes (they were verified
///   on the way in and never change, so its `verified_digest()` is the
///   target's digest and its `contiguous()` is the whole blob). The source
///   keeps the bytes alive on its own: it may outlive the store.
/// - Tags are names of the image layout's `ref.name` grammar (`v1`,
///   `1.0-rc`, `example.com/app:v1`); `tag` replaces a previous target.
///   `resolve` accepts a tag, or the digest of any manifest the store holds
///   (by the media type it was pushed with).
/// - `predecessors(s)` lists the manifests pushed whose `subject` is `s`
///   (their artifact type and annotations filled in, as the Referrers API
///   lists them); never nullopt. A manifest that does not parse is stored
///   but refers to nothing.
///
/// Coroutines run on the caller's executor and never suspend except while
/// reading a pushed source. Thread-safe: any operation may be called from
/// any thread concurrently (one mutex, never held across a suspension).
/// The store must outlive the operations called on it.
/// Errors (`coras::error`): `errc::not_found`, `errc::size_mismatch`,
/// `errc::digest_mismatch`, `errc::invalid_digest` (a descriptor without a
/// digest), `errc::invalid_reference`, and whatever the pushed source throws.
class memory_store final : public store {
 public:
  memory_store();
  ~memory_store() override;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  /// "memory".
  std::string describe() const override;

  /// `errc::not_found` when absent; `errc::size_mismatch` when `target.size`
  /// is not the stored size.
  boost::asio::awaitable<std::shared_ptr<byte_source>> fetch(descriptor target) override;
  boost::asio::awaitable<void> push(descriptor expected,
                                    std::shared_ptr<byte_source> content) override;
  boost::asio::awaitable<bool> exists(descriptor target) override;
  boost::asio::awaitable<descriptor> resolve(std::string reference) override;
  /// `target` must be held (`errc::not_found`); a `reference` that is a
  /// digest is accepted only when it is `target`'s (nothing to do).
  boost::asio::awaitable<void> tag(descriptor target, std::string reference) override;
  boost::asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(
      descriptor subject) override;

  /// The tags, sorted.
  std::vector<std::string> tags() const;
  /// How many blobs and manifests are held, and their total size in bytes.
  std::size_t count() const;
  /// The total size in bytes of what `count()` counts.
  std::uint64_t total_bytes() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace coras::content

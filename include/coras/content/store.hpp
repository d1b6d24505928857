/// @file
/// The one interface the copy layer speaks to: a place that holds content
/// (blobs and manifests by digest, manifests by tag), and the capabilities a
/// store may add. A remote repository (remote::repository_store), an OCI image
/// layout directory and an in-memory store implement it.
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coras::content {

class mounter;

/// A content store. Every function is a coroutine; callers `co_await` them
/// from any executor, concurrently (implementations are thread-safe).
/// Arguments are taken by value so that they outlive the suspended call.
/// Failures throw `coras::error` / `boost::system::system_error` with the
/// `coras::errc` codes (`not_found`, `digest_mismatch`, `size_mismatch`, …).
class store {
 public:
  virtual ~store() = default;

  /// What the store is, for messages and progress ("oci:/tmp/img",
  /// "registry.example/repo").
  virtual std::string describe() const = 0;

  /// The content of `target`, streamed. The source checks what it hands out:
  /// it never returns a byte beyond `target.size`, and its read that reaches
  /// the end returns only after the content hashed to `target.digest`
  /// (throwing `errc::digest_mismatch` otherwise), so a consumer that reads
  /// to the end has verified bytes. `errc::not_found` when absent.
  virtual boost::asio::awaitable<std::shared_ptr<byte_source>> fetch(descriptor target) = 0;

  /// Stores `content`, which must be `expected` (size and digest); nothing
  /// becomes visible before it is verified. Pushing content the store already
  /// has is not an error. A manifest is stored untagged.
  virtual boost::asio::awaitable<void> push(descriptor expected,
                                            std::shared_ptr<byte_source> content) = 0;

  /// Whether the store holds `target` (by digest).
  virtual boost::asio::awaitable<bool> exists(descriptor target) = 0;

  /// The manifest descriptor a tag or digest names; `errc::not_found` when
  /// absent, `errc::invalid_reference` when `reference` is neither.
  virtual boost::asio::awaitable<descriptor> resolve(std::string reference) = 0;

  /// Points tag `reference` at manifest `target` (which the store holds).
  virtual boost::asio::awaitable<void> tag(descriptor target, std::string reference) = 0;

  /// The manifests whose `subject` is `subject` (referrers), or nullopt when
  /// this store cannot list them. The default: nullopt.
  virtual boost::asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(
      descriptor subject);

  /// The store's mount capability, or nullptr (the default) when it has none.
  /// Copy asks for it instead of knowing concrete store types.
  virtual mounter* as_mounter() noexcept { return nullptr; }
};

/// A capability of stores that can take a blob from a sibling without the
/// bytes passing through the caller: a registry's cross-repository mount
/// (oras-go's `registry.Mounter`). Two mounters with the same `domain()` can
/// mount from each other by `name()`.
class mounter {
 public:
  virtual ~mounter() = default;

  /// What mounts are confined to (a registry's host[:port]).
  virtual std::string domain() const = 0;
  /// What a sibling names this store by when it mounts from it (a repository).
  virtual std::string name() const = 0;

  /// Makes blob `desc` of sibling `from` (same domain) present in this store.
  /// Throws like `store::push`.
  virtual boost::asio::awaitable<void> mount(descriptor desc, std::string from) = 0;
};

}  // namespace coras::content

/// @file
/// Graph copy between stores (oras-go's oras.Copy, skopeo copy, crane copy):
/// an image or artifact, from its root manifest down to every config and
/// layer, from one store to another.
#pragma once

#include <coras/content/store.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras/detail/initiate.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace coras::copy {

/// What happened to one node of the graph, or how far its transfer is.
struct copy_event {
  /// What the event reports.
  enum class kind {
    skipped,   ///< the destination already had it (its subgraph too)
    mounted,   ///< a blob mounted from the source repository (same registry)
    copied,    ///< transferred and verified
    progress,  ///< `done` of `total` bytes of a blob transferred so far
  };
  kind what = kind::copied;  ///< what happened
  descriptor desc;           ///< the node it happened to
  std::uint64_t done = 0;    ///< `progress`: bytes transferred so far
  std::uint64_t total = 0;   ///< `progress`: bytes to transfer
};

/// A referrer left out of a copy: the source listed it among the referrers
/// of `parent`, but its manifest's `subject` does not name `parent` (or it is
/// not a manifest). A registry may list anything; only what points at its
/// parent is copied.
struct copy_warning {
  descriptor referrer;  ///< the referrer left out
  descriptor parent;    ///< the manifest the source listed it under
  std::string message;  ///< a sentence naming both digests
};

/// How a copy runs. Every default written here is the one in force.
struct copy_options {
  /// Transfers (blob copies and manifest reads/writes) in flight at once.
  /// 8 measured best for pulls and pushes of both large and small layers
  /// against docker-registry on 2 cores (docs/copy.md).
  std::size_t concurrency = 8;
  /// Also copy the referrers of every manifest copied (signatures, SBOMs…),
  /// recursively, where the source can list them. Each digest is visited
  /// once however often it is listed; a listed referrer whose manifest's
  /// `subject` is not its parent is skipped (`on_warning`).
  bool referrers = false;
  /// Nodes (manifests and blobs, each digest once) one copy visits at most:
  /// a source that keeps listing new referrers cannot grow the graph without
  /// end. Beyond it the copy fails with `errc::size_limit_exceeded` naming
  /// this option. 0: no limit. 100,000 is far above real graphs (a
  /// 20-platform index of 50-layer images with a signature and an SBOM per
  /// manifest is about 1,100 nodes).
  std::size_t max_nodes = 100'000;
  /// Edges from the root to a node at most (an index's manifest is at depth
  /// 1, its layers at 2, a signature of that manifest at 2, the signature's
  /// own referrers at 3…). Beyond it the copy fails with
  /// `errc::size_limit_exceeded` naming this option. 0: no limit. 64 is far
  /// above real chains and keeps the walk's nesting of coroutines small.
  std::size_t max_depth = 64;
  /// Called for each referrer skipped (see `copy_warning`), serialized like
  /// `on_event`.
  std::function<void(const copy_warning&)> on_warning;
  /// For a root that is an index: copy only its manifest for this platform
  /// (the copied root), and tag that manifest at the destination, as
  /// oras-go's `oras.Copy` does with `ResolveOptions.TargetPlatform` and
  /// crane with `--platform`. The entry is chosen by `coras::select_platform`
  /// (<coras/core/platform.hpp>: `os` and `architecture` equal, `variant`
  /// when given, `arm64` meaning `arm64/v8` and `arm` `arm/v7`, `os.version`
  /// only when given); none matching fails the copy with `errc::not_found`
  /// and a message listing the platforms the index has. Unset (the default):
  /// the whole index, every platform, is copied. A root that is not an index
  /// is copied whatever this says.
  std::optional<coras::platform> platform;
  /// Events, for progress displays. Calls are serialized (never concurrent)
  /// but may come from any of the executors involved.
  std::function<void(const copy_event&)> on_event;
  /// Manifests are read into memory up to this size (`size_limit_exceeded`).
  std::uint64_t max_manifest_bytes = 4 * 1024 * 1024;
};

/// What a copy did.
struct copy_result {
  descriptor root;                      ///< what the destination reference names
  std::uint64_t copied = 0;             ///< nodes transferred
  std::uint64_t skipped = 0;            ///< nodes the destination had
  std::uint64_t mounted = 0;            ///< blobs mounted
  std::uint64_t bytes = 0;              ///< bytes transferred (mounts not counted)
  std::uint64_t referrers_skipped = 0;  ///< listed referrers not copied (`copy_warning`)
};

/// Copies what `src_ref` (tag or digest) names in `src`, with everything it
/// references, into `dst`, and tags it `dst_ref` there (nothing is tagged
/// when `dst_ref` is empty). Children are pushed before their parents, so a
/// manifest appears only once all it references exists; each node is copied
/// once even when shared; what the destination has is skipped (one
/// existence check per node); blobs between two repositories of one
/// registry are mounted. Runs on the calling coroutine's executor: the walk
/// on a strand of it, each blob's transfer (fetch and push) on the executor
/// itself, so that on a thread pool the stores' blocking file I/O runs in
/// parallel and one slow write stalls its own blob only.
/// Cancellation stops every transfer in flight; what was completed stays
/// (the destination never holds a manifest whose children are missing, nor
/// unverified content), and a second run skips it.
boost::asio::awaitable<copy_result> copy(std::shared_ptr<content::store> src, std::string src_ref,
                                         std::shared_ptr<content::store> dst, std::string dst_ref,
                                         copy_options options = {});

/// Copies the graph under `root` from `src` into `dst`, as `copy` does, but
/// from a descriptor the caller already has (oras-go's `oras.CopyGraph`):
/// nothing is resolved and nothing is tagged, so copying what a `resolve`
/// just named costs no second request for it. `options.platform` applies as
/// in `copy`; `copy_result::root` is what was copied (the entry chosen for
/// the platform, else `root`). Tag it at the destination with
/// `dst->tag(result.root, ref)` when wanted. `root` must be what `src` holds
/// under its digest: its size and digest are checked as the copy reads it.
boost::asio::awaitable<copy_result> copy_graph(std::shared_ptr<content::store> src, descriptor root,
                                               std::shared_ptr<content::store> dst,
                                               copy_options options = {});

/// @cond INTERNAL
/// Internal: starts `copy` on a strand of `ex`.
void start_copy(boost::asio::any_io_executor ex, diagnostics* d,
                boost::asio::any_completion_handler<void(error_code, copy_result)> handler,
                std::shared_ptr<content::store> src, std::string src_ref,
                std::shared_ptr<content::store> dst, std::string dst_ref, copy_options options);
/// Internal: starts `copy_graph`.
void start_copy_graph(boost::asio::any_io_executor ex, diagnostics* d,
                      boost::asio::any_completion_handler<void(error_code, copy_result)> handler,
                      std::shared_ptr<content::store> src, descriptor root,
                      std::shared_ptr<content::store> dst, copy_options options);
/// @endcond

/// @{
/// `copy` as an asynchronous operation: copies what `src_ref` names in `src`,
/// with everything it references, into `dst`, tagged `dst_ref` there. With
/// the default token (`coras::default_completion_token_t`) a failure throws
/// `coras::error` with the whole message; the overload taking a
/// `diagnostics&` fills `d` instead (for `as_tuple`, callbacks and futures),
/// as every coras operation does.
///
/// @par Handler signature
/// `void(error_code, copy_result)`.
///
/// @par Errors
/// The first failure cancels the other transfers and is what the copy
/// reports: `errc::not_found` (a reference or a referenced blob is missing),
/// `errc::digest_mismatch`, `errc::size_mismatch`,
/// `errc::size_limit_exceeded` (`copy_options::max_nodes`, `max_depth`,
/// `max_manifest_bytes`), the stores' and registries' errors.
///
/// @par Object lifetimes
/// The stores, references and options are moved into the operation, which
/// keeps the stores alive until it completes. `d` must stay alive until then.
///
/// @par Executor
/// The walk runs on a strand of `ex`, each blob's transfer on `ex` itself
/// (in parallel when `ex` is a thread pool's); store calls hop to the
/// stores' own executors (a remote store's requests run on its HTTP
/// client's strand).
/// The handler runs on its associated executor. `copy_options::on_event`
/// and `on_warning` calls are serialized but may come from any of those
/// executors.
///
/// @par Per-operation cancellation
/// Terminal: every transfer in flight stops (connections closed, upload
/// sessions abandoned, temporary files removed) and the operation completes
/// with `boost::asio::error::operation_aborted`. What completed stays, and a
/// second run skips it.
///
/// @par Thread safety
/// May be started from any thread.
template <class Token = ::coras::default_completion_token_t>
auto async_copy(boost::asio::any_io_executor ex, std::shared_ptr<content::store> src,
                std::string src_ref, std::shared_ptr<content::store> dst, std::string dst_ref,
                copy_options options, Token&& token = {}) {
  return ::coras::detail::initiate<void(error_code, copy_result)>(
      std::forward<Token>(token),
      [ex](diagnostics* d, auto handler, auto&&... args) {
        start_copy(ex, d, std::move(handler), std::forward<decltype(args)>(args)...);
      },
      nullptr, std::move(src), std::move(src_ref), std::move(dst), std::move(dst_ref),
      std::move(options));
}
template <class Token = ::coras::default_completion_token_t>
auto async_copy(boost::asio::any_io_executor ex, std::shared_ptr<content::store> src,
                std::string src_ref, std::shared_ptr<content::store> dst, std::string dst_ref,
                copy_options options, diagnostics& d, Token&& token = {}) {
  return ::coras::detail::initiate<void(error_code, copy_result)>(
      std::forward<Token>(token),
      [ex](diagnostics* dp, auto handler, auto&&... args) {
        start_copy(ex, dp, std::move(handler), std::forward<decltype(args)>(args)...);
      },
      &d, std::move(src), std::move(src_ref), std::move(dst), std::move(dst_ref),
      std::move(options));
}
/// @}

/// @{
/// `copy_graph` as an asynchronous operation, with the conventions of
/// `async_copy` (errors, lifetimes, executor, cancellation): copies the graph
/// under `root` from `src` into `dst`; nothing is resolved or tagged.
///
/// @par Handler signature
/// `void(error_code, copy_result)`.
template <class Token = ::coras::default_completion_token_t>
auto async_copy_graph(boost::asio::any_io_executor ex, std::shared_ptr<content::store> src,
                      descriptor root, std::shared_ptr<content::store> dst, copy_options options,
                      Token&& token = {}) {
  return ::coras::detail::initiate<void(error_code, copy_result)>(
      std::forward<Token>(token),
      [ex](diagnostics* d, auto handler, auto&&... args) {
        start_copy_graph(ex, d, std::move(handler), std::forward<decltype(args)>(args)...);
      },
      nullptr, std::move(src), std::move(root), std::move(dst), std::move(options));
}
template <class Token = ::coras::default_completion_token_t>
auto async_copy_graph(boost::asio::any_io_executor ex, std::shared_ptr<content::store> src,
                      descriptor root, std::shared_ptr<content::store> dst, copy_options options,
                      diagnostics& d, Token&& token = {}) {
  return ::coras::detail::initiate<void(error_code, copy_result)>(
      std::forward<Token>(token),
      [ex](diagnostics* dp, auto handler, auto&&... args) {
        start_copy_graph(ex, dp, std::move(handler), std::forward<decltype(args)>(args)...);
      },
      &d, std::move(src), std::move(root), std::move(dst), std::move(options));
}
/// @}

}  // namespace coras::copy

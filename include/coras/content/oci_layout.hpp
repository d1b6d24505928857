/// @file
/// A content store in an OCI image layout directory (image-spec
/// image-layout.md), the format `skopeo copy … oci:DIR:TAG`, umoci, buildah
/// and oras read and write.
#pragma once

#include <coras/content/store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coras::content {

/// How an `oci_layout` opens and writes its directory. Defaults in the members.
struct oci_layout_options {
  /// Create the layout when the directory is missing or empty (its parents
  /// too). When false, such a directory is `errc::not_found`.
  bool create = true;
  /// fsync each blob and each index.json before renaming it into place, and
  /// its directory after. Off by default: without it a crash of the process
  /// still never leaves a partial file under a final name (the rename comes
  /// after the content is complete and verified), but a power loss may, on
  /// some file systems, leave a blob truncated — which `fetch` then reports
  /// as `size_mismatch`/`digest_mismatch`, never as content, and which a
  /// later `push` of the same blob replaces. Turn it on when the layout must
  /// survive power loss; it costs a disk flush per blob.
  bool sync = false;
  /// Largest index.json read; a larger one is `errc::size_limit_exceeded`.
  std::uint64_t max_index_bytes = 64ull << 20;
  /// Largest manifest read to learn its media type or subject (a digest
  /// `resolve` of an unlisted manifest, the referrers scan at open). Larger
  /// blobs are not taken for manifests.
  std::uint64_t max_manifest_bytes = 4ull << 20;
  /// Bytes per file read and write (at least 256 KiB is used).
  std::size_t io_piece_bytes = 1u << 20;
  /// Check the digest of a blob file that is already there before `exists`
  /// says true or `push` keeps it instead of writing it: a file of the right
  /// size with other bytes (a damaged or planted file) is then reported
  /// absent and replaced by the next `push`, so a copy that skips what
  /// `exists` reports never leaves a wrong blob. Each blob is hashed once per
  /// `oci_layout` object (blobs it wrote count as checked). Off: a regular
  /// file of the right size counts (faster; the old behaviour), and `fetch`
  /// still reports a wrong one as `digest_mismatch`.
  bool verify_existing_blobs = true;
  /// Where the file work of `push`, `fetch`'s reads, `exists`, `resolve`
  /// and `tag` runs (reads, writes, renames, fsync, and hashing a file):
  /// give it an executor with threads of its own (an `asio::thread_pool`)
  /// and the layout never blocks the caller's executor, the thread an Asio
  /// server's sockets run on. Each piece of work is posted there and the
  /// operation resumes on its own executor afterwards. Empty (the default):
  /// the work runs inline, on the calling thread. Opening the layout (the
  /// constructor) blocks either way. The executor must outlive the layout's
  /// operations and the sources `fetch` returned (their reads use it); the
  /// caller's io_context may go as soon as its `run()` returns.
  std::optional<boost::asio::any_io_executor> work_executor;
};

/// An OCI image layout directory:
///
///     DIR/oci-layout                 {"imageLayoutVersion":"1.0.0"}
///     DIR/index.json                 an image index: the tagged manifests, and referrers
///     DIR/blobs/<alg>/<hex>          every blob and manifest, by digest
///     DIR/ingest/                    coras's temporary files (not part of the spec)
///
/// - **Opening** (the constructor) creates a missing or empty directory as
///   an empty layout (`oci-layout`, `index.json`, `blobs/sha256/`), unless
///   `options.create` is false. An existing layout must have an `oci-layout`
///   with `imageLayoutVersion` "1.0.0" (else `errc::unsupported`; a
///   non-empty directory without it is `errc::not_found`) and a parseable
///   index.json no larger than `max_index_bytes` (a missing index.json is an
///   empty one). Every manifest index.json lists is read once to learn its
///   `subject` (for `predecessors`). Opening blocks the calling thread.
/// - **Tags** are `org.opencontainers.image.ref.name` annotations of
///   index.json's `manifests` entries, as skopeo and umoci write them
///   (`oci:DIR:v1` is the entry named `v1`). A name follows the image spec's
///   grammar (`v1`, `1.0-rc`, `example.com/app:v1`). `tag` replaces the
///   entry of that name; a manifest may carry several names.
/// - **index.json** lists every tagged manifest (one entry per name), every
///   manifest pushed with a `subject` (a referrer, listed once without a
///   name unless it is tagged), and keeps whatever other entries it had
///   (e.g. skopeo's unnamed ones). It is rewritten after each change to a
///   temporary file and renamed over the old one, so readers see the old or
///   the new index, never a mix.
/// - **push** writes to `ingest/`, checks size and digest (the hash is
///   skipped when the source's `verified_digest()` is the expected digest),
///   then renames the file to `blobs/<alg>/<hex>`. On any failure the
///   temporary file is removed: a blob exists under its name only once it is
///   complete and verified. A blob already present with the expected size is
///   not written again and the source is not read.
/// - **fetch** streams the file in `io_piece_bytes` reads, never past
///   `target.size`, and hashes it on the way: the read that reaches the end
///   throws `errc::digest_mismatch` (or `size_mismatch` for a short file)
///   instead of returning the last piece when the file was altered. Its
///   `verified_digest()` is the target's digest.
/// - **resolve** takes a tag, or a digest: a manifest listed in index.json,
///   or any blob that is a manifest (read, verified and its `mediaType`
///   taken; `errc::not_found` for a blob that is not a manifest).
/// - **predecessors** lists the manifests whose `subject` is the given
///   digest, from a map built at open and kept up to date by `push`.
///
/// Safety: blob paths are built only from validated digests (algorithm
/// `sha256`/`sha512`, lower-case hex of the exact length), so no digest names
/// a path outside `DIR`; blob files are opened without following a symbolic
/// link in their last component and must be regular files.
///
/// File I/O is blocking: it runs inline on the calling thread (in large
/// pieces), or on `oci_layout_options::work_executor` when one is given;
/// coroutines run on the caller's executor. Thread-safe: any
/// operation may be called from any thread concurrently. index.json and the
/// in-memory maps are guarded by one mutex, never held across a suspension
/// (index.json is written while it is held, so writes are ordered). Two
/// processes writing one layout at once may lose each other's index.json
/// changes (blobs are safe). The store must outlive the operations called on
/// it; a source returned by `fetch` may outlive the store.
/// Errors (`coras::error`): `errc::not_found`, `errc::size_mismatch`,
/// `errc::digest_mismatch`, `errc::invalid_reference`, `errc::invalid_digest`,
/// `errc::invalid_manifest` (an index.json that does not parse),
/// `errc::size_limit_exceeded`, `errc::unsupported`, and system errors from
/// the file system (`boost::system::system_category()`).
class oci_layout final : public store {
 public:
  /// Opens (or creates) the layout at `dir`; see above. Throws as listed.
  explicit oci_layout(std::filesystem::path dir, oci_layout_options options = {});
  ~oci_layout() override;
  oci_layout(const oci_layout&) = delete;
  oci_layout& operator=(const oci_layout&) = delete;

  /// The directory.
  const std::filesystem::path& path() const noexcept;
  /// The tags (index.json's names), sorted.
  std::vector<std::string> tags() const;

  /// "oci:DIR".
  std::string describe() const override;
  /// `errc::not_found` when the blob is absent; `errc::size_mismatch` when
  /// its file is not `target.size` bytes.
  boost::asio::awaitable<std::shared_ptr<byte_source>> fetch(descriptor target) override;
  /// A manifest with a `subject` is added to index.json (unnamed) and to
  /// `predecessors`; content is stored untagged otherwise.
  boost::asio::awaitable<void> push(descriptor expected,
                                    std::shared_ptr<byte_source> content) override;
  /// True when `blobs/<alg>/<hex>` is a regular file (not a link) of
  /// `target.size` bytes whose content hashes to `target.digest` (checked
  /// once per blob and object; see `oci_layout_options::verify_existing_blobs`).
  boost::asio::awaitable<bool> exists(descriptor target) override;
  /// The descriptor as index.json lists it (without the name annotation).
  boost::asio::awaitable<descriptor> resolve(std::string reference) override;
  /// `target` must be stored (`errc::not_found`) with `target.size` bytes; a
  /// `reference` that is a digest is accepted only when it is `target`'s.
  boost::asio::awaitable<void> tag(descriptor target, std::string reference) override;
  boost::asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(
      descriptor subject) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace coras::content

// The registry's content: blobs, manifests, tags and uploads, in memory or
// under a root directory. No Asio here; a mutex guards the maps because one
// storage may be shared by registries running on different threads. It is
// never held across I/O on a socket, only across short map updates and the
// small file writes that make a change durable.
#pragma once

#include "server/limits.hpp"
#include "server/protocol.hpp"

#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/server/registry.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace coras::server {

/// An upload session. Used by one request at a time (`try_acquire`); its bytes
/// go straight to memory or to a temporary file as they arrive.
class upload {
 public:
  upload(std::string id, std::string repository, std::filesystem::path temp_file);
  ~upload();
  upload(const upload&) = delete;
  upload& operator=(const upload&) = delete;

  const std::string& id() const noexcept { return id_; }
  const std::string& repository() const noexcept { return repository_; }
  /// Bytes received so far.
  std::uint64_t size() const noexcept { return hasher_.size(); }
  /// Hashes what arrives with `a` (`digest-algorithm=`, or a monolithic
  /// upload's digest), so that completing with a digest of `a` needs no
  /// second pass. Only before the first byte; afterwards it does nothing.
  void hash_with(digest_algorithm a) {
    if (hasher_.size() == 0) hasher_ = digester(a);
  }
  /// Appends `bytes`; false on a write error. Memory grows with what
  /// arrives, never with what a client declared.
  bool append(std::string_view bytes);

  /// Keeps the bytes appended readable with `read_at` for as long as this
  /// session object lives, after `storage::commit_upload` too (a pull-through
  /// cache's clients read them while the fetch goes on). On disk it opens a
  /// second descriptor, which still reads the file once committed (renamed)
  /// or evicted (unlinked); false when it cannot be opened.
  bool keep_readable();
  /// Copies bytes appended so far from `offset` into `out`; returns how many
  /// (0 at the end, or when they cannot be read). Thread-safe with `append`,
  /// `commit_upload` and itself; on disk only after `keep_readable`.
  std::size_t read_at(std::uint64_t offset, std::span<char> out) const;

  /// Marks the session in use by a request; false when another request has it.
  bool try_acquire() noexcept { return !busy_.exchange(true); }
  void release() noexcept {
    touch();
    busy_.store(false);
  }
  /// Marks the session used now (idle expiry counts from here).
  void touch() noexcept;
  std::chrono::steady_clock::time_point last_used() const noexcept;
  bool busy() const noexcept { return busy_.load(); }

 private:
  friend class storage;
  std::string id_;
  std::string repository_;
  digester hasher_;  // hash of what arrived (sha256 unless hash_with), so PUT needs no second pass
  std::string memory_;
  // read_at's view of the bytes: memory_ and committed_memory_ change under
  // memory_mutex_ (the memory storage moves memory_ into the blob at commit).
  mutable std::mutex memory_mutex_;
  std::shared_ptr<const std::string> committed_memory_;
  std::filesystem::path temp_file_;  // empty for memory storage
  int fd_ = -1;
  int read_fd_ = -1;  // keep_readable's descriptor (disk)
  bool failed_ = false;
  std::atomic<bool> busy_{false};
  std::atomic<std::int64_t> last_used_{0};  // steady_clock ticks
  std::uint64_t charged_ = 0;               // quota bytes; storage's mutex
};

class storage {
 public:
  /// Memory storage when `root` is empty; else opens (and loads) `root`.
  explicit storage(std::filesystem::path root);
  ~storage();

  bool on_disk() const noexcept { return !root_.empty(); }

  /// A blob's bytes: in memory, or the file that holds them.
  struct blob_view {
    std::shared_ptr<const std::string> memory;
    std::filesystem::path file;
    std::uint64_t size = 0;
  };
  struct manifest_view {
    ::coras::digest digest;
    std::shared_ptr<const std::string> bytes;
    std::string media_type;
  };

  bool repository_exists(std::string_view name) const;
  /// The blob `d` when it is in `repository`.
  std::optional<blob_view> find_blob(std::string_view repository, const digest& d) const;
  /// Unlinks `d` from `repository`; false when it was not there.
  bool delete_blob(std::string_view repository, const digest& d);
  /// Links `d` into `to` when `from` has it.
  bool mount_blob(std::string_view from, std::string_view to, const digest& d);

  /// A new session, or null when `limits` refuse it (`*refused` says which).
  /// Sweeps expired sessions first.
  std::shared_ptr<upload> start_upload(std::string_view repository,
                                       const detail::upload_limits& limits,
                                       detail::upload_limit* refused = nullptr);
  /// The session `id` of `repository`, or null (also when it expired: it is
  /// then ended).
  std::shared_ptr<upload> find_upload(std::string_view repository, std::string_view id,
                                      const detail::upload_limits& limits);
  /// Counts `n` more bytes against the quotas for `session`, or refuses them.
  /// With `dry_run`, only checks (a declared Content-Length).
  detail::upload_limit charge_upload(upload& session, std::uint64_t n,
                                     const detail::upload_limits& limits, bool dry_run = false);
  /// Open sessions and their bytes (tests, stats).
  detail::upload_usage upload_usage() const;
  void drop_upload(std::string_view id);
  /// Ends every upload session (`registry::drop_upload_sessions`); returns how many there were.
  std::size_t drop_uploads();

  enum class commit_status { committed, digest_mismatch, io_error };
  /// Verifies the session's bytes against `expected`, stores them as a blob of
  /// the session's repository, and ends the session (whatever the outcome).
  commit_status commit_upload(const std::shared_ptr<upload>& session, const digest& expected,
                              std::string* actual = nullptr);

  /// A manifest of `repository` by tag or digest.
  std::optional<manifest_view> find_manifest(std::string_view repository,
                                             std::string_view reference) const;
  bool has_manifest(std::string_view repository, const digest& d) const;
  bool has_blob(std::string_view repository, const digest& d) const;
  /// Stores a validated manifest (and points `tag` at it when non-empty).
  /// Throws std::filesystem::filesystem_error when disk storage fails.
  void put_manifest(std::string_view repository, const digest& d,
                    std::shared_ptr<const std::string> bytes, const detail::manifest_facts& facts,
                    std::string_view tag);
  /// Stores a validated manifest and points each of `tags` at it.
  void put_manifest(std::string_view repository, const digest& d,
                    std::shared_ptr<const std::string> bytes, const detail::manifest_facts& facts,
                    std::span<const std::string> tags);
  /// Removes manifest `d` and every tag pointing at it; false when unknown.
  bool delete_manifest(std::string_view repository, const digest& d);
  bool delete_tag(std::string_view repository, std::string_view tag);

  /// Sorted tags; nullopt for an unknown repository.
  std::optional<std::vector<std::string>> tags(std::string_view repository) const;
  /// Sorted repository names.
  std::vector<std::string> repositories() const;
  /// Descriptors of the manifests of `repository` whose subject is `subject`,
  /// sorted by digest, filtered by artifact type when `artifact_type` is set.
  std::vector<descriptor> referrers(std::string_view repository, const digest& subject,
                                    std::string_view artifact_type) const;

 private:
  struct manifest_entry {
    std::shared_ptr<const std::string> bytes;
    std::string media_type;
    std::string artifact_type;
    std::string subject;
    ::coras::annotations annotations;
  };
  struct repository_entry {
    std::set<std::string, std::less<>> blobs;
    std::map<std::string, manifest_entry, std::less<>> manifests;
    std::map<std::string, std::string, std::less<>> tags;
  };
  struct blob_entry {
    std::shared_ptr<const std::string> memory;
    std::uint64_t size = 0;
  };

  void load();
  /// Removes `it` from the sessions and its usage; returns the session.
  std::shared_ptr<upload> forget_upload_locked(
      std::unordered_map<std::string, std::shared_ptr<upload>>::iterator it);
  void sweep_uploads_locked(const detail::upload_limits& limits,
                            std::vector<std::shared_ptr<upload>>& doomed);
  repository_entry& repo_locked(std::string_view name);
  const repository_entry* find_repo_locked(std::string_view name) const;
  bool referenced_locked(const std::string& d) const;
  void forget_content_locked(const std::string& d);
  std::filesystem::path content_path(const digest& d) const;
  std::filesystem::path repo_path(std::string_view name) const;

  std::filesystem::path root_;
  mutable std::mutex mutex_;
  std::map<std::string, repository_entry, std::less<>> repos_;
  std::unordered_map<std::string, blob_entry> blobs_;
  std::unordered_map<std::string, std::shared_ptr<upload>> uploads_;
  detail::upload_usage upload_total_;
  std::unordered_map<std::string, detail::upload_usage> upload_usage_;  // by repository
};

}  // namespace coras::server

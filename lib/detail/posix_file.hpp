// POSIX file helpers the whole library shares, and the one place the
// integrity rule for files is written: content appears under its final name
// whole or not at all (temp file, fsync, rename, fsync of the directory).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace coras::detail {

/// Throws `coras::error` with `e` (an errno) and "what: strerror(e)".
[[noreturn]] void throw_errno(int e, const std::string& what);

/// A file descriptor closed on scope exit.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept;
  unique_fd& operator=(unique_fd&& o) noexcept;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept;
  void reset() noexcept;
  /// Closes and reports the error close() found (NFS reports write errors there).
  void close_checked(const std::string& what);

 private:
  int fd_ = -1;
};

/// Reads `n` bytes at `offset` unless the file ends first; returns the count read.
std::size_t pread_full(int fd, char* p, std::size_t n, std::uint64_t offset,
                       const std::string& what);
/// The most bytes one write(2) or pwrite(2) of a file's content takes. Linux
/// (6.x, ext4 and others) caches a buffered write of N bytes in folios of up
/// to N bytes; on the development VM, whose kernel hands wholly free 2 MiB
/// blocks back to its host (free page reporting), filling big folios (1 MiB
/// writes: up to 512 KiB) was often much slower: a 1 GiB pull took 1.7-2.2 s
/// in 8 of 13 runs instead of 1.1-1.3 s, in the kernel's copy into the page
/// cache, with 64 and 128 KiB writes in 1 of 21 (crane's 32 KiB writes in
/// none; docs/benchmarks.md). Where it does not happen, 128 KiB calls cost
/// about 4 % more CPU than 1 MiB ones.
inline constexpr std::size_t max_write_call = 128 * 1024;

/// Writes all of `bytes` (retrying short writes and EINTR), in calls of at
/// most `max_write_call` bytes.
void write_all(int fd, std::string_view bytes, const std::string& what);
void sync_fd(int fd, const std::string& what);
void sync_dir(const std::filesystem::path& dir);

/// Opens a file for reading, never through a symbolic link in its last
/// component, and only a regular file (`errc::unsupported` otherwise); `st`
/// receives its status. An empty fd when the file does not exist.
unique_fd open_regular(const std::filesystem::path& path, struct stat& st);

/// The whole of a small regular file, or nullopt when it does not exist;
/// `errc::size_limit_exceeded` when it is larger than `limit` (the message
/// names `option`, the setting that raises the limit, when one is given).
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::uint64_t limit,
                                           std::string_view option = {});

/// A file written under a private name in `dir` (`.STEM.<random>.tmp`,
/// created exclusively, never through a symbolic link) that takes its final
/// name only in `commit`; removed if it is destroyed before.
class temp_file {
 public:
  /// Throws `coras::error` with the errno (ENOENT when `dir` is missing).
  temp_file(const std::filesystem::path& dir, std::string_view stem, mode_t mode = 0644);
  temp_file(temp_file&& o) noexcept;
  temp_file& operator=(temp_file&&) = delete;
  ~temp_file();

  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& path() const noexcept { return path_; }
  void write(std::string_view bytes) { write_all(fd_.get(), bytes, path_.string()); }

  /// fsync (when `durable`), a checked close, rename over `target`, and an
  /// fsync of `target`'s directory (when `durable`) so the rename survives a
  /// crash.
  void commit(const std::filesystem::path& target, bool durable);

 private:
  std::filesystem::path path_;
  unique_fd fd_;
  bool committed_ = false;
};

/// Replaces `target` with `content` atomically: readers see the old file or
/// the new one, never a part (temp_file + commit).
void atomic_replace(const std::filesystem::path& target, std::string_view content, bool durable,
                    mode_t mode = 0644);

}  // namespace coras::detail

#include "posix_file.hpp"

#include <coras/core/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

namespace coras::detail {

namespace fs = std::filesystem;

void throw_errno(int e, const std::string& what) {
  throw error(error_code(e, boost::system::system_category()), what + ": " + std::strerror(e));
}

unique_fd::unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

int unique_fd::release() noexcept { return std::exchange(fd_, -1); }

void unique_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void unique_fd::close_checked(const std::string& what) {
  int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) throw_errno(errno, "closing " + what);
}

std::size_t pread_full(int fd, char* p, std::size_t n, std::uint64_t offset,
                       const std::string& what) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "reading " + what);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

void write_all(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    ssize_t r = ::write(fd, bytes.data(), std::min(bytes.size(), max_write_call));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "writing " + what);
    }
    bytes.remove_prefix(static_cast<std::size_t>(r));
  }
}

void sync_fd(int fd, const std::string& what) {
  if (::fsync(fd) != 0) throw_errno(errno, "syncing " + what);
}

void sync_dir(const fs::path& dir) {
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  unique_fd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno(errno, "opening " + d.string());
  sync_fd(fd.get(), d.string());
}

unique_fd open_regular(const fs::path& path, struct stat& st) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return fd;
    if (errno == ELOOP)
      throw error(errc::unsupported, path.string() + " is a symbolic link; refused");
    throw_errno(errno, "opening " + path.string());
  }
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "reading the status of " + path.string());
  if (!S_ISREG(st.st_mode))
    throw error(errc::unsupported, path.string() + " is not a regular file");
  return fd;
}

std::optional<std::string> read_small_file(const fs::path& path, std::uint64_t limit,
                                           std::string_view option) {
  struct stat st {};
  auto fd = open_regular(path, st);
  if (!fd) return std::nullopt;
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limit)
    throw error(errc::size_limit_exceeded,
                path.string() + " is " + std::to_string(size) + " bytes, more than the limit of " +
                    std::to_string(limit) +
                    (option.empty() ? std::string() : " (" + std::string(option) + ")"));
  std::string out(static_cast<std::size_t>(size), '\0');
  auto got = pread_full(fd.get(), out.data(), out.size(), 0, path.string());
  out.resize(got);  // a file that shrank under us reads as what is left
  return out;
}

namespace {
// Names unique across processes (a random start) and threads (a counter).
std::string private_name(std::string_view stem) {
  static const std::uint64_t nonce = std::random_device{}() * 0x100000001ull ^ ::getpid();
  static std::atomic<std::uint64_t> counter{0};
  char tail[48];
  std::snprintf(tail, sizeof tail, ".%016llx-%llu.tmp", static_cast<unsigned long long>(nonce),
                static_cast<unsigned long long>(counter.fetch_add(1)));
  return "." + std::string(stem) + tail;
}
}  // namespace

temp_file::temp_file(const fs::path& dir, std::string_view stem, mode_t mode) {
  for (int attempt = 0;; ++attempt) {
    path_ = (dir.empty() ? fs::path(".") : dir) / private_name(stem);
    fd_ = unique_fd(
        ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (fd_) return;
    if (errno != EEXIST || attempt > 8) {
      int e = errno;
      path_.clear();
      throw_errno(e, "creating a temporary file in " + dir.string());
    }
  }
}

temp_file::temp_file(temp_file&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::move(o.fd_)), committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object removes nothing
}

temp_file::~temp_file() {
  fd_.reset();
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

void temp_file::commit(const fs::path& target, bool durable) {
  if (durable) sync_fd(fd_.get(), path_.string());
  fd_.close_checked(path_.string());
  if (::rename(path_.c_str(), target.c_str()) != 0)
    throw_errno(errno, "renaming " + path_.string() + " to " + target.string());
  committed_ = true;
  if (durable) sync_dir(target.parent_path());
}

void atomic_replace(const fs::path& target, std::string_view content, bool durable, mode_t mode) {
  temp_file t(target.parent_path(), target.filename().string(), mode);
  if (::fchmod(t.fd(), mode) != 0) throw_errno(errno, "setting the mode of " + t.path().string());
  t.write(content);
  t.commit(target, durable);
}

}  // namespace coras::detail

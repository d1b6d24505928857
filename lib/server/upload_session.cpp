// One upload session (storage.hpp's `upload`): its bytes in a temporary file
// (disk storage) or in memory, hashed as they arrive, and read back by a
// pull-through mirror's late clients (read_at). The storage decides when it
// becomes a blob (storage.cpp).
#include "server/storage.hpp"

#include "detail/posix_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace coras::server {
namespace fs = std::filesystem;

upload::upload(std::string id, std::string repository, fs::path temp_file)
    : id_(std::move(id)), repository_(std::move(repository)), temp_file_(std::move(temp_file)) {
  if (!temp_file_.empty()) {
    fd_ = ::open(temp_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw fs::filesystem_error("cannot create upload file", temp_file_,
                                 std::error_code(errno, std::generic_category()));
  }
}

upload::~upload() {
  if (fd_ >= 0) ::close(fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (!temp_file_.empty()) {
    std::error_code ec;
    fs::remove(temp_file_, ec);  // still there only when the upload was not committed
  }
}

void upload::touch() noexcept {
  last_used_.store(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::chrono::steady_clock::time_point upload::last_used() const noexcept {
  return std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_used_.load()));
}

bool upload::append(std::string_view bytes) {
  if (failed_) return false;
  if (fd_ >= 0) {
    try {
      coras::detail::write_all(fd_, bytes, temp_file_.string());
    } catch (const coras::error&) {
      failed_ = true;
      return false;
    }
  } else {
    std::lock_guard lock(memory_mutex_);
    memory_.append(bytes);
  }
  hasher_.update(bytes);
  touch();
  return true;
}

bool upload::keep_readable() {
  if (temp_file_.empty() || read_fd_ >= 0) return true;
  read_fd_ = ::open(temp_file_.c_str(), O_RDONLY | O_CLOEXEC);
  return read_fd_ >= 0;
}

std::size_t upload::read_at(std::uint64_t offset, std::span<char> out) const {
  if (!temp_file_.empty()) {
    if (read_fd_ < 0) return 0;
    try {
      return coras::detail::pread_full(read_fd_, out.data(), out.size(), offset,
                                       temp_file_.string());
    } catch (const std::exception&) {
      return 0;
    }
  }
  std::lock_guard lock(memory_mutex_);
  const std::string& bytes = committed_memory_ ? *committed_memory_ : memory_;
  if (offset >= bytes.size()) return 0;
  const auto n =
      static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), bytes.size() - offset));
  std::memcpy(out.data(), bytes.data() + offset, n);
  return n;
}

}  // namespace coras::server

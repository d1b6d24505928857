#include <coras/core/byte_source.hpp>

#include <coras/core/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace coras {
namespace {

class in_memory final : public byte_source {
 public:
  explicit in_memory(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  std::optional<std::uint64_t> size() const override { return bytes_->size(); }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override {
    std::size_t n = std::min(buffer.size(), bytes_->size() - offset_);
    std::memcpy(buffer.data(), bytes_->data() + offset_, n);
    offset_ += n;
    co_return n;
  }
  bool rewind() override {
    offset_ = 0;
    return true;
  }
  bool seek(std::uint64_t offset) override {
    if (offset > bytes_->size()) return false;
    offset_ = static_cast<std::size_t>(offset);
    return true;
  }
  std::optional<boost::asio::const_buffer> contiguous() const override {
    return boost::asio::buffer(*bytes_);
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  std::size_t offset_ = 0;
};

// Reads with pread on the calling thread: page-cache reads cost microseconds
// per 64 KiB piece, cheaper than a hop to another thread. A thread-pool
// variant for slow disks is future work.
class file_range final : public byte_source {
 public:
  file_range(int fd, std::uint64_t offset, std::uint64_t length)
      : fd_(fd), start_(offset), length_(length) {}
  ~file_range() override { ::close(fd_); }
  std::optional<std::uint64_t> size() const override { return length_; }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override {
    std::uint64_t left = length_ - done_;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left));
    if (want == 0) co_return 0;
    ssize_t n;
    do {
      n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(start_ + done_));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
      throw error(error_code(errno, boost::system::system_category()), "reading request body file");
    if (n == 0) throw error(errc::size_mismatch, "body file is shorter than announced");
    done_ += static_cast<std::uint64_t>(n);
    co_return static_cast<std::size_t>(n);
  }
  bool rewind() override {
    done_ = 0;
    return true;
  }
  bool seek(std::uint64_t offset) override {
    if (offset > length_) return false;
    done_ = offset;
    return true;
  }

 private:
  int fd_;
  std::uint64_t start_;
  std::uint64_t length_;
  std::uint64_t done_ = 0;
};

class counting_source final : public byte_source {
 public:
  counting_source(std::shared_ptr<byte_source> inner, std::function<void(std::uint64_t)> report,
                  std::uint64_t every)
      : inner_(std::move(inner)), report_(std::move(report)), every_(every) {}
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  std::optional<digest> verified_digest() const override { return inner_->verified_digest(); }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer b) override {
    auto n = co_await inner_->read(b);
    done_ += n;
    if (done_ - reported_ >= every_ || (n == 0 && done_ != reported_)) {
      reported_ = done_;
      report_(done_);
    }
    co_return n;
  }
  bool rewind() override { return seek(0); }
  bool seek(std::uint64_t offset) override {
    if (!inner_->seek(offset)) return false;
    done_ = reported_ = offset;
    report_(done_);
    return true;
  }

 private:
  std::shared_ptr<byte_source> inner_;
  std::function<void(std::uint64_t)> report_;
  std::uint64_t every_;
  std::uint64_t done_ = 0, reported_ = 0;
};

}  // namespace

std::shared_ptr<byte_source> counted_source(std::shared_ptr<byte_source> inner,
                                            std::function<void(std::uint64_t)> report,
                                            std::uint64_t every) {
  return std::make_shared<counting_source>(std::move(inner), std::move(report), every);
}

std::shared_ptr<byte_source> memory_source(std::shared_ptr<const std::string> bytes) {
  return std::make_shared<in_memory>(std::move(bytes));
}

std::shared_ptr<byte_source> memory_source(std::string bytes) {
  return memory_source(std::make_shared<const std::string>(std::move(bytes)));
}

std::shared_ptr<byte_source> file_source(const std::filesystem::path& path, std::uint64_t offset,
                                         std::optional<std::uint64_t> length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw error(error_code(errno, boost::system::system_category()), "opening " + path.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < offset) {
    ::close(fd);
    throw error(errc::size_mismatch, path.string() + " is shorter than the requested offset");
  }
  std::uint64_t available = static_cast<std::uint64_t>(st.st_size) - offset;
  if (length && *length > available) {
    ::close(fd);
    throw error(errc::size_mismatch, path.string() + " is shorter than the requested range");
  }
  return std::make_shared<file_range>(fd, offset, length.value_or(available));
}

}  // namespace coras

// Blobs into files: a staged partial file that a later attempt continues
// (only when coras's record beside it says it holds this blob), and
// big blobs fetched as several ranges at once over several connections,
// written in place and verified once, in order, as the ranges complete.
#include "blob_reader_impl.hpp"
#include "detail/offload.hpp"
#include "detail/posix_file.hpp"
#include "detail/spawn.hpp"
#include "http/client_impl.hpp"
#include "remote/exchange.hpp"
#include "remote/protocol.hpp"
#include "stores.hpp"

#include <coras/content/titles.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace coras::remote::detail {

namespace asio = boost::asio;
using coras::detail::offload;

namespace {

constexpr std::size_t io_piece = 1 << 20;

[[noreturn]] void file_error(std::string_view what, const std::filesystem::path& p) {
  const int e = errno;
  throw coras::error(error_code(e, boost::system::system_category()),
                     std::string(what) + " " + p.string() + ": " + std::strerror(e));
}

// The open `.partial` file of one download.
struct partial_file {
  std::filesystem::path path;
  int fd = -1;
  ~partial_file() {
    if (fd >= 0) ::close(fd);
  }
  void write_at(const char* data, std::size_t n, std::uint64_t at) const {
    while (n > 0) {
      auto w =
          ::pwrite(fd, data, std::min(n, coras::detail::max_write_call), static_cast<off_t>(at));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) file_error("cannot write", path);
      data += w;
      n -= static_cast<std::size_t>(w);
      at += static_cast<std::uint64_t>(w);
    }
  }
  // Hashes bytes [from, to) of the file into `h`.
  void hash_range(digester& h, std::uint64_t from, std::uint64_t to) const {
    std::vector<std::byte> buffer(io_piece);
    while (from < to) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to - from));
      auto r = ::pread(fd, buffer.data(), want, static_cast<off_t>(from));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) file_error("cannot read", path);
      if (r == 0) throw coras::error(errc::size_mismatch, path.string() + " shrank while in use");
      h.update(std::span(buffer.data(), static_cast<std::size_t>(r)));
      from += static_cast<std::uint64_t>(r);
    }
  }
  void truncate(std::uint64_t size) const {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) file_error("cannot truncate", path);
  }
};

// Makes the staging directory (private to this user) or checks the one
// there: a real directory, never a symbolic link written through.
void make_staging_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) file_error("cannot create", dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) file_error("cannot create", dir);
  if (!S_ISDIR(st.st_mode))
    throw coras::error(errc::invalid_argument,
                       "cannot stage a download in " + dir.string() +
                           ": it is not a directory (a symbolic link or a file)");
}

// Opens (creating) the staged partial file. Another download finishing in
// the same directory may remove the (then empty) staging directory between
// the mkdir and the open: make it again.
int open_staged(const std::filesystem::path& dir, const std::filesystem::path& file) {
  for (int attempt = 0;; ++attempt) {
    make_staging_directory(dir);
    // O_NOFOLLOW: a symlink planted at the staging name is refused, not written through.
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 || errno != ENOENT || attempt == 3) return fd;
  }
}

// True when the record beside a staged file is coras's, for this blob.
bool record_matches(const std::filesystem::path& record, const std::string& expected) {
  const int fd = ::open(record.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  std::string got(expected.size() + 1, '\0');
  const auto n = ::read(fd, got.data(), got.size());
  ::close(fd);
  return n == static_cast<ssize_t>(expected.size()) &&
         got.compare(0, expected.size(), expected) == 0;
}

void write_record(const std::filesystem::path& record, const std::string& text) {
  const int fd =
      ::open(record.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) file_error("cannot create", record);
  partial_file guard{record, fd};
  guard.write_at(text.data(), text.size(), 0);
}

// Reads until `buffer` is full or the reader's range ends; the count.
asio::awaitable<std::size_t> fill_up(blob_reader_impl& reader, std::vector<char>& buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    std::size_t n = 0;
    error_code end;
    try {
      n = co_await reader.read_some(asio::buffer(buffer.data() + got, buffer.size() - got));
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::eof) throw;
      end = e.code();
    }
    if (end) break;
    got += n;
  }
  co_return got;
}

// Copies a raw reader's bytes into the file from `at` on, hashing them into
// `hasher` when given. With a work executor, a full buffer is written (and
// hashed) there while the next one fills from the network: one stream then
// keeps both cores busy.
asio::awaitable<void> drain(const state_ptr& s, blob_reader_impl& reader, const partial_file& file,
                            std::uint64_t at, digester* hasher) {
  using namespace asio::experimental::awaitable_operators;
  const auto& work = s->client.options().work_executor;
  std::vector<char> current(io_piece), next(io_piece);
  auto n = co_await fill_up(reader, current);
  while (n > 0) {
    auto store = [&file, &current, hasher, n, at] {
      file.write_at(current.data(), n, at);
      if (hasher) hasher->update(std::as_bytes(std::span(current.data(), n)));
    };
    std::size_t m = 0;
    if (work) {
      m = co_await (offload(work, store) && fill_up(reader, next));
    } else {
      store();
      m = co_await fill_up(reader, next);
    }
    at += n;
    std::swap(current, next);
    n = m;
  }
}

// One stream from `have` on, continuing `prefix`; verified at the end.
asio::awaitable<void> download_sequential(state_ptr s, descriptor target, const partial_file& file,
                                          std::uint64_t have, digester prefix) {
  blob_reader_setup setup(s->client);
  setup.repo = s;
  setup.url = blob_url(*s, target.digest);
  setup.offset = have;
  setup.target = target;  // raw: hashed here, with the file writes
  auto reader = co_await blob_reader_impl::open(std::move(setup));
  co_await drain(s, *reader, file, have, &prefix);
  if (prefix.size() != static_cast<std::uint64_t>(target.size) || prefix.finish() != target.digest)
    throw coras::error(errc::digest_mismatch,
                       "GET \"" + strip_credentials(blob_url(*s, target.digest)) +
                           "\": content digest does not match " + target.digest.str());
}

// A parallel download's shared progress (touched only on the client's strand).
struct parallel_job {
  state_ptr s;
  descriptor target;
  const partial_file* file;
  std::uint64_t start, size, segment;
  std::uint64_t next;      // first byte not yet handed to a worker
  std::vector<bool> done;  // per segment, from `start`
  std::uint64_t hashed;    // bytes [0, hashed) are in `hasher`
  digester hasher;
  bool hashing = false;

  std::size_t index(std::uint64_t at) const {
    return static_cast<std::size_t>((at - start) / segment);
  }

  // Hashes completed segments in order, reading them back from the file
  // (from the page cache) on the work executor. One worker at a time does it.
  asio::awaitable<void> advance() {
    if (hashing) co_return;
    hashing = true;
    try {
      while (hashed < size && done[index(hashed)]) {
        const auto from = hashed;
        const auto to = std::min(size, from + segment);
        co_await offload(s->client.options().work_executor,
                         [this, from, to] { file->hash_range(hasher, from, to); });
        hashed = to;
      }
    } catch (...) {
      hashing = false;
      throw;
    }
    hashing = false;
  }

  asio::awaitable<void> worker() {
    while (next < size) {
      const auto a = next;
      const auto b = std::min(size, a + segment);
      next = b;
      blob_reader_setup setup(s->client);
      setup.repo = s;
      setup.target = target;
      setup.url = blob_url(*s, target.digest);
      setup.offset = a;
      setup.end = b;  // a raw range: hashed by advance(), in order
      auto reader = co_await blob_reader_impl::open(std::move(setup));
      co_await drain(s, *reader, *file, a, nullptr);
      done[index(a)] = true;
      co_await advance();
    }
  }
};

// Returns the verified-contiguous prefix's hash state on failure through `job`.
asio::awaitable<void> download_parallel(parallel_job& job, std::size_t workers) {
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, job.worker(), asio::deferred));
  std::vector<op_type> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(asio::co_spawn(ex, job.worker(), asio::deferred));
  // The first failure cancels the other workers.
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (auto i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
  if (job.hashed != job.size)
    throw coras::error(errc::invalid_response, "parallel download ended with unhashed ranges");
}

}  // namespace

asio::awaitable<void> download_blob(state_ptr s, descriptor target, std::filesystem::path path) {
  // Before the partial file is created and the segment bitmap sized: a
  // descriptor claiming 2^60 bytes would make that bitmap 8 GiB.
  std::string why;
  auto checked = checked_blob_size(target.size, s->options.max_blob_bytes,
                                   "blob " + target.digest.str(), &why);
  if (!checked) throw coras::error(checked.error(), why);
  const auto size = *checked;
  const auto& opt = s->options.transfer;
  const auto& work = s->client.options().work_executor;
  // Staged under names of coras's own (content::staging_for), never
  // `path` + ".partial": another file's title may be that name.
  const auto staged = content::staging_for(path, target.digest);
  const auto record = content::staging_record(target.digest, size);
  partial_file file;
  file.path = staged.partial;
  file.fd = open_staged(staged.directory, file.path);
  if (file.fd < 0) file_error("cannot create", file.path);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) file_error("cannot stat", file.path);
  if (!S_ISREG(st.st_mode))
    throw coras::error(errc::invalid_argument, file.path.string() + " is not a regular file");
  auto have = static_cast<std::uint64_t>(st.st_size);
  // Continued only when coras's record says this file holds a prefix of this
  // blob: a file someone else put there is started over, not hashed as a
  // candidate prefix (the record is written after the truncation, so a crash
  // in between leaves an empty file or no record, never a wrong record).
  if (have > size || !record_matches(staged.record, record)) {
    file.truncate(0);
    have = 0;
    write_record(staged.record, record);
  }
  // The bytes a previous attempt left are hashed, not trusted: the digest
  // covers them like the rest.
  digester prefix(target.digest.algorithm());
  if (have > 0) co_await offload(work, [&] { file.hash_range(prefix, 0, have); });

  std::exception_ptr failure;
  const bool parallel = opt.parallel_threshold > 0 && opt.parallel_downloads > 1 &&
                        opt.segment_size > 0 && size - have >= opt.parallel_threshold;
  if (parallel) {
    parallel_job job{s,
                     target,
                     &file,
                     have,
                     size,
                     opt.segment_size,
                     have,
                     std::vector<bool>(static_cast<std::size_t>(
                         (size - have + opt.segment_size - 1) / opt.segment_size)),
                     have,
                     std::move(prefix)};
    try {
      co_await download_parallel(job, opt.parallel_downloads);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure && coras::detail::to_error_code(failure) == errc::unsupported) {
      // The registry ignores Range: one stream from the hashed prefix.
      failure = nullptr;
      file.truncate(job.hashed);
      try {
        co_await download_sequential(s, target, file, job.hashed, std::move(job.hasher));
      } catch (...) {
        failure = std::current_exception();
      }
    } else if (!failure) {
      if (job.hasher.state_copy().finish() != target.digest)
        failure = std::make_exception_ptr(coras::error(
            errc::digest_mismatch, "GET \"" + strip_credentials(blob_url(*s, target.digest)) +
                                       "\": content digest does not match " + target.digest.str()));
    } else {
      // Keep only what is contiguous from the start (and hashed).
      file.truncate(job.hashed);
    }
  } else {
    try {
      co_await download_sequential(s, target, file, have, std::move(prefix));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) {
    if (coras::detail::to_error_code(failure) == errc::digest_mismatch) {
      ::unlink(file.path.c_str());
      ::unlink(staged.record.c_str());
      ::rmdir(staged.directory.c_str());  // when empty
    }
    std::rethrow_exception(failure);
  }
  const int fd = file.fd;
  file.fd = -1;
  if (::close(fd) != 0) file_error("cannot write", file.path);
  std::error_code ec;
  std::filesystem::rename(file.path, path, ec);
  if (ec)
    throw coras::error(
        error_code(ec.value(), boost::system::system_category()),
        "cannot rename " + file.path.string() + " to " + path.string() + ": " + ec.message());
  ::unlink(staged.record.c_str());
  ::rmdir(staged.directory.c_str());  // when empty: other downloads may be staging there
}

}  // namespace coras::remote::detail

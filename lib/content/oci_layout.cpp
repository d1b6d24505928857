#include "common.hpp"
#include "detail/offload.hpp"
#include "detail/posix_file.hpp"
#include "oci_index.hpp"

#include <coras/content/oci_layout.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace coras::content {
namespace {

namespace fs = std::filesystem;
using coras::detail::open_regular;
using coras::detail::pread_full;
using coras::detail::read_small_file;
using coras::detail::temp_file;
using coras::detail::throw_errno;
using coras::detail::unique_fd;
using detail::ref_name_of;
using detail::strip_ref_name;

constexpr std::string_view layout_file_content = R"({"imageLayoutVersion":"1.0.0"})";
constexpr std::size_t min_piece = 256 * 1024;

[[noreturn]] void throw_fs(const std::error_code& ec, const std::string& what) {
  throw error(error_code(ec.value(), boost::system::system_category()), what + ": " + ec.message());
}

// A blob read by fetch: pieces of at least 256 KiB from the file, hashed as
// they are read; the piece that reaches the end is handed out only once the
// whole file hashed to the target's digest.
class blob_source final : public byte_source {
 public:
  blob_source(unique_fd fd, descriptor target, std::size_t piece, std::string what,
              std::optional<boost::asio::any_io_executor> work)
      : work_(std::move(work)),
        fd_(std::move(fd)),
        digest_(std::move(target.digest)),
        size_(static_cast<std::uint64_t>(target.size)),
        piece_(piece),
        what_(std::move(what)),
        hash_(digest_.algorithm()) {}

  std::optional<std::uint64_t> size() const override { return size_; }
  std::optional<digest> verified_digest() const override { return digest_; }

  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override {
    if (failure_) std::rethrow_exception(failure_);
    if (buffer.size() == 0) co_return 0;
    if (pos_ < len_) co_return take(buffer);
    if (done_ == size_) {
      if (!checked_) check();  // an empty blob: its first read is the one that ends it
      co_return 0;
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(piece_, size_ - done_));
    const bool direct = buffer.size() >= want;
    if (!direct && buf_.size() < want) buf_.resize(piece_);
    char* dst = direct ? static_cast<char*>(buffer.data()) : buf_.data();
    std::size_t got = 0;
    co_await coras::detail::offload(work_, [&] {
      got = pread_full(fd_.get(), dst, want, done_, what_);
      if (got == want) hash_.update(std::string_view(dst, want));
    });
    if (got != want) {
      failure_ = std::make_exception_ptr(
          error(errc::size_mismatch, what_ + " ended at " + std::to_string(done_ + got) +
                                         " bytes; the descriptor says " + std::to_string(size_)));
      std::rethrow_exception(failure_);
    }
    done_ += want;
    if (done_ == size_) check();
    if (direct) co_return want;
    pos_ = 0;
    len_ = want;
    co_return take(buffer);
  }

  bool rewind() override {
    done_ = pos_ = len_ = 0;
    hash_ = digester(digest_.algorithm());
    checked_ = false;
    failure_ = nullptr;
    return true;
  }

 private:
  std::size_t take(boost::asio::mutable_buffer buffer) {
    std::size_t n = std::min(buffer.size(), len_ - pos_);
    std::memcpy(buffer.data(), buf_.data() + pos_, n);
    pos_ += n;
    return n;
  }

  void check() {
    checked_ = true;
    if (hash_.finish() != digest_) {
      failure_ = std::make_exception_ptr(error(
          errc::digest_mismatch, what_ + " does not hash to " + digest_.str() + " (altered?)"));
      std::rethrow_exception(failure_);
    }
  }

  std::optional<boost::asio::any_io_executor> work_;  // where the file is read and hashed
  unique_fd fd_;
  digest digest_;
  std::uint64_t size_;
  std::size_t piece_;
  std::string what_;
  digester hash_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, len_ = 0;  // unread part of buf_
  std::uint64_t done_ = 0;         // bytes read from the file (and hashed)
  bool checked_ = false;
  std::exception_ptr failure_;
};

}  // namespace

struct oci_layout::impl {
  fs::path root;
  oci_layout_options opt;
  std::size_t piece;
  std::atomic<bool> ingest_ready{false};

  mutable std::mutex mu;
  // index.json as named and other entries (oci_index.hpp); `others` also
  // gains the referrers pushed here.
  detail::oci_index index = detail::empty_oci_index();
  std::string written;  // the index.json last read or written
  // By subject digest: the referrers, and their digests for a linear scan
  // at open (a layout may list many referrers of one subject).
  struct referrer_list {
    std::vector<descriptor> list;
    std::set<digest> seen;
  };
  std::map<digest, referrer_list> referrers;
  // Blobs whose file this object hashed or wrote (verify_existing_blobs).
  std::set<digest> checked;

  impl(fs::path dir, oci_layout_options o) : root(std::move(dir)), opt(o) {
    piece = std::max(opt.io_piece_bytes, min_piece);
  }

  std::string where() const { return "oci:" + root.string(); }

  // Runs file work where the options say (oci_layout_options::work_executor).
  boost::asio::awaitable<void> io(std::function<void()> work) const {
    return coras::detail::offload(opt.work_executor, std::move(work));
  }
  fs::path index_path() const { return root / "index.json"; }
  fs::path ingest_dir() const { return root / "ingest"; }

  // Core parses only canonical digests, but the path is what keeps reads and
  // writes inside the layout, so it is checked here too, not assumed.
  fs::path blob_path(const digest& d) const {
    if (d.empty()) throw error(errc::invalid_digest, "a blob needs a digest");
    auto alg = d.algorithm_name();
    auto hex = d.hex();
    const bool alg_ok = alg == "sha256" || alg == "sha512";
    const bool hex_ok = !hex.empty() && std::all_of(hex.begin(), hex.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (!alg_ok || !hex_ok)
      throw error(errc::invalid_digest, "digest \"" + d.str() + "\" cannot name a blob file");
    return root / "blobs" / std::string(alg) / std::string(hex);
  }

  void make_dirs(const fs::path& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw_fs(ec, "creating " + dir.string());
  }

  temp_file create_temp(std::string_view stem) {
    if (!ingest_ready.load(std::memory_order_acquire)) {
      make_dirs(ingest_dir());
      ingest_ready.store(true, std::memory_order_release);
    }
    // ENOENT: someone removed ingest/ (it is only scratch space): once more.
    try {
      return temp_file(ingest_dir(), stem);
    } catch (const error& e) {
      if (e.code() != error_code(ENOENT, boost::system::system_category())) throw;
    }
    make_dirs(ingest_dir());
    return temp_file(ingest_dir(), stem);
  }

  // Moves a complete temporary file to `target`.
  void commit(temp_file& t, const fs::path& target) { t.commit(target, opt.sync); }

  void write_atomically(const fs::path& target, std::string_view data) {
    auto t = create_temp(target.filename().string());
    t.write(data);
    commit(t, target);
  }

  // Writes the index of `n` and `o`, then makes them the state: on failure
  // the state stays what the file says. Call with `mu` held.
  void save_locked(std::vector<descriptor> n, std::vector<descriptor> o) {
    detail::oci_index next{index.base, std::move(n), std::move(o)};
    auto json = detail::render_oci_index(next);
    if (json != written) write_atomically(index_path(), json);
    index = std::move(next);
    written = std::move(json);
  }

  // A blob of `size` bytes (nullopt: any) that hashes to `d`, read whole when
  // it is at most `limit` bytes; nullopt when absent, larger, or altered.
  std::optional<std::string> read_verified_blob(const digest& d, std::optional<std::uint64_t> size,
                                                std::uint64_t limit) const {
    struct stat st {};
    auto path = blob_path(d);
    auto fd = open_regular(path, st);
    if (!fd) return std::nullopt;
    auto actual = static_cast<std::uint64_t>(st.st_size);
    if ((size && actual != *size) || actual > limit) return std::nullopt;
    std::string out(static_cast<std::size_t>(actual), '\0');
    if (pread_full(fd.get(), out.data(), out.size(), 0, path.string()) != out.size())
      return std::nullopt;
    if (digest::of(out, d.algorithm()) != d) return std::nullopt;
    return out;
  }

  // Whether the blob file is a regular file of `size` bytes (and, with
  // verify_existing_blobs, whose bytes hash to `d`: a file of the right size
  // is not trusted blindly, since a copy skips what this says is there).
  bool stored(const digest& d, std::int64_t size) {
    struct stat st {};
    auto path = blob_path(d);
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return false;
      throw_errno(errno, "reading the status of " + path.string());
    }
    if (!S_ISREG(st.st_mode) || st.st_size != size) return false;
    if (!opt.verify_existing_blobs) return true;
    {
      std::lock_guard lock(mu);
      if (checked.contains(d)) return true;
    }
    if (!hashes_to(path, d)) return false;
    std::lock_guard lock(mu);
    checked.insert(d);
    return true;
  }

  // Whether the file's bytes hash to `d` (false when it cannot be read).
  bool hashes_to(const fs::path& path, const digest& d) const {
    struct stat st {};
    auto fd = open_regular(path, st);
    if (!fd) return false;
    digester h(d.algorithm());
    std::string buffer(piece, '\0');
    for (std::uint64_t at = 0;;) {
      const auto n = pread_full(fd.get(), buffer.data(), buffer.size(), at, path.string());
      if (n == 0) break;
      h.update(std::string_view(buffer.data(), n));
      at += n;
    }
    return h.finish() == d;
  }

  void mark_checked(const digest& d) {
    std::lock_guard lock(mu);
    checked.insert(d);
  }

  // The index.json entry a name or digest picks (without its name).
  std::optional<descriptor> find_listed(const detail::parsed_reference& ref) const {
    std::lock_guard lock(mu);
    for (const auto* list : {&index.named, &index.others})
      for (const auto& d : *list) {
        const auto* name = ref_name_of(d);
        if (ref.digest ? d.digest == *ref.digest : (name && *name == ref.name))
          return strip_ref_name(d);
      }
    return std::nullopt;
  }

  void add_referrer_locked(const descriptor& m, const detail::manifest_facts& facts) {
    auto& r = referrers[facts.subject->digest];
    if (r.seen.insert(m.digest).second) r.list.push_back(detail::referrer_descriptor(m, facts));
  }

  void open() {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) throw_fs(ec, "opening " + root.string());
    const bool missing = !fs::exists(st);
    if (!missing && !fs::is_directory(st))
      throw error(errc::not_found, root.string() + " is not a directory");
    std::error_code list_ec;
    const bool empty = missing || fs::is_empty(root, list_ec);
    if (list_ec) throw_fs(list_ec, "listing " + root.string());

    if (empty) {
      if (!opt.create) throw error(errc::not_found, root.string() + ": no OCI image layout there");
      make_dirs(root / "blobs" / "sha256");
      std::lock_guard lock(mu);
      written = detail::render_oci_index(index);
      write_atomically(index_path(), written);
      // oci-layout last: a directory with it is a complete layout.
      write_atomically(root / "oci-layout", layout_file_content);
      return;
    }

    auto layout = read_small_file(root / "oci-layout", 64 * 1024);
    if (!layout)
      throw error(errc::not_found,
                  root.string() + " is not an OCI image layout: it has no oci-layout file");
    detail::check_layout_file(*layout);

    auto text =
        read_small_file(index_path(), opt.max_index_bytes, "oci_layout_options::max_index_bytes");
    std::lock_guard lock(mu);
    if (!text) return;  // written on the first change
    index = detail::parse_oci_index(*text, index_path().string());
    written = *text;
    for (const auto* list : {&index.named, &index.others})
      for (const auto& d : *list) scan_for_subject(d);
  }

  // At open: learn whether a listed manifest refers to a subject. A listed
  // blob that is missing, too large or altered is left for fetch to report.
  void scan_for_subject(const descriptor& d) {
    if (!media_type::is_manifest(d.media_type)) return;
    auto bytes =
        read_verified_blob(d.digest, static_cast<std::uint64_t>(d.size), opt.max_manifest_bytes);
    if (!bytes) return;
    auto facts = detail::read_manifest_facts(*bytes);
    if (facts && facts->subject) add_referrer_locked(strip_ref_name(d), *facts);
  }
};

oci_layout::oci_layout(std::filesystem::path dir, oci_layout_options options)
    : impl_(std::make_unique<impl>(std::move(dir), options)) {
  impl_->open();
}

oci_layout::~oci_layout() = default;

const std::filesystem::path& oci_layout::path() const noexcept { return impl_->root; }

std::string oci_layout::describe() const { return impl_->where(); }

std::vector<std::string> oci_layout::tags() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& d : impl_->index.named) out.push_back(*ref_name_of(d));
  std::sort(out.begin(), out.end());
  return out;
}

boost::asio::awaitable<std::shared_ptr<byte_source>> oci_layout::fetch(descriptor target) {
  detail::check_descriptor(target, "fetch");
  auto path = impl_->blob_path(target.digest);
  struct stat st {};
  unique_fd fd;
  co_await impl_->io([&] { fd = open_regular(path, st); });
  if (!fd) throw error(errc::not_found, target.digest.str() + ": not in " + impl_->where());
  if (st.st_size != target.size)
    throw error(errc::size_mismatch, path.string() + " is " + std::to_string(st.st_size) +
                                         " bytes; the descriptor says " +
                                         std::to_string(target.size));
  co_return std::make_shared<blob_source>(std::move(fd), std::move(target), impl_->piece,
                                          path.string(), impl_->opt.work_executor);
}

boost::asio::awaitable<void> oci_layout::push(descriptor expected,
                                              std::shared_ptr<byte_source> content) {
  detail::check_descriptor(expected, "push");
  impl& s = *impl_;
  const auto final_path = s.blob_path(expected.digest);
  // Manifests are kept in memory on the way (they are small) to learn their subject.
  const bool manifest = media_type::is_manifest(expected.media_type) &&
                        static_cast<std::uint64_t>(expected.size) <= s.opt.max_manifest_bytes;
  std::optional<std::string> kept;
  bool write = false;
  std::optional<temp_file> temp;  // on a throw, its destructor removes the file
  co_await s.io([&] {
    write = !s.stored(expected.digest, expected.size);
    if (!write && manifest) {
      kept = s.read_verified_blob(expected.digest, static_cast<std::uint64_t>(expected.size),
                                  s.opt.max_manifest_bytes);
      write = !kept;  // altered: replace it from the source
    }
    if (!write) return;
    s.make_dirs(final_path.parent_path());
    temp.emplace(s.create_temp(std::string(expected.digest.algorithm_name()) + "-" +
                               std::string(expected.digest.hex())));
  });
  if (write) {
    if (manifest) kept.emplace();
    detail::byte_sink sink = [&temp, &kept](const char* p, std::size_t n) {
      temp->write(std::string_view(p, n));
      if (kept) kept->append(p, n);
    };
    co_await detail::read_verified(content, expected, std::move(sink), s.piece,
                                   s.opt.work_executor);
    co_await s.io([&] { s.commit(*temp, final_path); });
    s.mark_checked(expected.digest);  // read_verified checked every byte
  }

  if (!kept) co_return;
  auto facts = detail::read_manifest_facts(*kept);
  if (!facts || !facts->subject) co_return;
  descriptor entry;
  entry.media_type = expected.media_type;
  entry.digest = expected.digest;
  entry.size = expected.size;
  entry.artifact_type = facts->artifact_type;
  co_await s.io([&] {
    std::lock_guard lock(s.mu);
    s.add_referrer_locked(expected, *facts);
    auto listed = [&](const descriptor& d) { return d.digest == expected.digest; };
    if (std::none_of(s.index.others.begin(), s.index.others.end(), listed)) {
      auto others = s.index.others;
      others.push_back(std::move(entry));
      s.save_locked(s.index.named, std::move(others));
    }
  });
}

boost::asio::awaitable<bool> oci_layout::exists(descriptor target) {
  detail::check_descriptor(target, "exists");
  bool stored = false;
  co_await impl_->io([&] { stored = impl_->stored(target.digest, target.size); });
  co_return stored;
}

boost::asio::awaitable<descriptor> oci_layout::resolve(std::string reference) {
  auto ref = detail::parse_reference(reference);
  impl& s = *impl_;
  if (auto listed = s.find_listed(ref)) co_return std::move(*listed);
  if (!ref.digest) throw error(errc::not_found, reference + ": no such tag in " + s.where());

  // A digest index.json does not list: any manifest among the blobs.
  auto path = s.blob_path(*ref.digest);
  std::optional<std::string> bytes;
  co_await s.io([&] {
    struct stat st {};
    if (!open_regular(path, st)) throw error(errc::not_found, reference + ": not in " + s.where());
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > s.opt.max_manifest_bytes)
      throw error(errc::not_found, reference + ": a blob of " + std::to_string(size) +
                                       " bytes, larger than a manifest may be here");
    bytes = s.read_verified_blob(*ref.digest, std::nullopt, s.opt.max_manifest_bytes);
  });
  if (!bytes) throw error(errc::digest_mismatch, path.string() + " does not hash to " + reference);
  auto facts = detail::read_manifest_facts(*bytes);
  if (!facts) throw error(errc::not_found, reference + ": the blob is not a manifest");
  descriptor d;
  d.media_type = facts->media_type;
  d.digest = *ref.digest;
  d.size = static_cast<std::int64_t>(bytes->size());
  co_return d;
}

boost::asio::awaitable<void> oci_layout::tag(descriptor target, std::string reference) {
  detail::check_descriptor(target, "tag");
  auto ref = detail::parse_reference(reference);
  impl& s = *impl_;
  // All of it is file work: the blob's check, its manifest's read, index.json.
  co_await s.io([&] {
    if (!s.stored(target.digest, target.size)) {
      struct stat st {};
      auto fd = open_regular(s.blob_path(target.digest), st);
      if (fd)
        throw error(errc::size_mismatch,
                    "cannot tag " + target.digest.str() + ": it is " + std::to_string(st.st_size) +
                        " bytes in the layout, the descriptor says " + std::to_string(target.size));
      throw error(errc::not_found, "cannot tag " + target.digest.str() + ": not in " + s.where());
    }
    if (ref.digest) {
      if (*ref.digest != target.digest)
        throw error(errc::invalid_reference,
                    "cannot tag " + target.digest.str() + " as another digest, " + reference);
      return;
    }
    if (target.media_type.empty()) {
      // An index.json entry needs one: take the manifest's own.
      auto bytes = s.read_verified_blob(target.digest, static_cast<std::uint64_t>(target.size),
                                        s.opt.max_manifest_bytes);
      auto facts = bytes ? detail::read_manifest_facts(*bytes) : std::nullopt;
      if (!facts)
        throw error(errc::invalid_manifest, "cannot tag " + target.digest.str() +
                                                " without a media type: it is not a manifest");
      target.media_type = facts->media_type;
    }
    target.data.reset();
    target.annotations.insert_or_assign(std::string(detail::ref_name_annotation), ref.name);
    std::lock_guard lock(s.mu);
    auto named = s.index.named;
    auto same = [&](const descriptor& d) { return *ref_name_of(d) == ref.name; };
    if (auto it = std::find_if(named.begin(), named.end(), same); it != named.end())
      *it = std::move(target);
    else
      named.push_back(std::move(target));
    s.save_locked(std::move(named), s.index.others);
  });
}

boost::asio::awaitable<std::optional<std::vector<descriptor>>> oci_layout::predecessors(
    descriptor subject) {
  detail::check_descriptor(subject, "predecessors");
  std::lock_guard lock(impl_->mu);
  std::vector<descriptor> out;
  if (auto it = impl_->referrers.find(subject.digest); it != impl_->referrers.end())
    out = it->second.list;
  co_return out;
}

}  // namespace coras::content

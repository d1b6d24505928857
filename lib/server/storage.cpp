#include "server/storage.hpp"

#include "detail/posix_file.hpp"

#include <coras/core/reference.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace coras::server {
namespace fs = std::filesystem;

namespace {

// Writes `content` under a temporary name beside `path`, then renames it over
// `path`, so a crash never leaves a half-written tag or link behind.
// (The temporary name starts with a dot: neither a tag nor a digest, so
// load() never mistakes it.) Not fsynced: a test registry trades durability
// for speed.
void write_file_atomic(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  coras::detail::atomic_replace(path, content, /*durable=*/false);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw fs::filesystem_error("cannot read", path, std::make_error_code(std::errc::io_error));
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

// The digest of a file's bytes under `a` (for sha512 uploads, which the
// running sha256 cannot answer).
std::optional<digest> hash_file(const fs::path& path, digest_algorithm a) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  digester h(a);
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (r == 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(r)));
  }
  ::close(fd);
  return h.finish();
}

std::optional<digest> digest_from_path(const fs::path& alg_dir, const fs::path& file) {
  auto d = digest::try_parse(alg_dir.filename().string() + ":" + file.filename().string());
  if (!d) return std::nullopt;
  return *d;
}

}  // namespace

// ---- storage ----

std::shared_ptr<storage> make_memory_storage() { return std::make_shared<storage>(fs::path()); }

std::shared_ptr<storage> open_storage(const fs::path& root) {
  if (root.empty()) throw std::invalid_argument("open_storage: empty root directory");
  return std::make_shared<storage>(root);
}

storage::storage(fs::path root) : root_(std::move(root)) {
  if (on_disk()) load();
}

storage::~storage() = default;

fs::path storage::content_path(const digest& d) const {
  return root_ / "blobs" / std::string(d.algorithm_name()) / std::string(d.hex());
}

fs::path storage::repo_path(std::string_view name) const {
  return root_ / "repositories" / fs::path(std::string(name));
}

void storage::load() {
  fs::create_directories(root_ / "blobs");
  fs::create_directories(root_ / "repositories");
  // Unfinished uploads cannot be resumed (their sessions lived in memory).
  fs::remove_all(root_ / "uploads");
  fs::create_directories(root_ / "uploads");

  for (const auto& alg : fs::directory_iterator(root_ / "blobs")) {
    if (!alg.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(alg.path())) {
      auto d = digest_from_path(alg.path(), f.path());
      if (!d || !f.is_regular_file()) {
        std::error_code ec;
        fs::remove(f.path(), ec);  // a temporary left by a crash
        continue;
      }
      blobs_[d->str()] = blob_entry{nullptr, f.file_size()};
    }
  }

  const fs::path repos = root_ / "repositories";
  for (auto it = fs::recursive_directory_iterator(repos); it != fs::recursive_directory_iterator();
       ++it) {
    if (!it->is_directory()) continue;
    const auto leaf = it->path().filename().string();
    if (leaf.empty() || leaf[0] != '_') continue;
    it.disable_recursion_pending();
    const std::string name = it->path().parent_path().lexically_relative(repos).generic_string();
    if (!check_repository(name).empty()) continue;
    auto& repo = repos_[name];
    if (leaf == "_blobs") {
      for (const auto& alg : fs::directory_iterator(it->path()))
        if (alg.is_directory())
          for (const auto& f : fs::directory_iterator(alg.path()))
            if (auto d = digest_from_path(alg.path(), f.path()); d && blobs_.contains(d->str()))
              repo.blobs.insert(d->str());
    } else if (leaf == "_manifests") {
      for (const auto& alg : fs::directory_iterator(it->path())) {
        if (!alg.is_directory()) continue;
        for (const auto& f : fs::directory_iterator(alg.path())) {
          auto d = digest_from_path(alg.path(), f.path());
          if (!d || !blobs_.contains(d->str())) continue;
          auto bytes = std::make_shared<const std::string>(read_file(content_path(*d)));
          const std::string media_type = read_file(f.path());
          auto facts = detail::analyze_manifest(media_type, *bytes, nullptr);
          if (!facts) continue;
          repo.manifests[d->str()] = manifest_entry{
              std::move(bytes), media_type, facts->artifact_type,
              facts->subject ? facts->subject->digest.str() : std::string(), facts->annotations};
        }
      }
    } else if (leaf == "_tags") {
      for (const auto& f : fs::directory_iterator(it->path())) {
        const auto tag = f.path().filename().string();
        if (!check_tag(tag).empty()) continue;  // skips temporaries too
        const auto target = read_file(f.path());
        repo.tags[tag] = target;
      }
    }
  }
  // A tag whose manifest is gone (a crash between the two writes) is dropped.
  // (Not a structured binding: clang before 16 cannot capture one in a lambda.)
  for (auto& entry : repos_) {
    auto& repo = entry.second;
    std::erase_if(repo.tags, [&](const auto& t) { return !repo.manifests.contains(t.second); });
  }
}

storage::repository_entry& storage::repo_locked(std::string_view name) {
  auto it = repos_.find(name);
  if (it == repos_.end()) it = repos_.emplace(std::string(name), repository_entry{}).first;
  return it->second;
}

const storage::repository_entry* storage::find_repo_locked(std::string_view name) const {
  auto it = repos_.find(name);
  return it == repos_.end() ? nullptr : &it->second;
}

bool storage::repository_exists(std::string_view name) const {
  std::lock_guard lock(mutex_);
  return repos_.contains(name);
}

std::optional<storage::blob_view> storage::find_blob(std::string_view repository,
                                                     const digest& d) const {
  std::lock_guard lock(mutex_);
  const auto* repo = find_repo_locked(repository);
  if (!repo || !repo->blobs.contains(d.str())) return std::nullopt;
  auto it = blobs_.find(d.str());
  if (it == blobs_.end()) return std::nullopt;
  blob_view v;
  v.memory = it->second.memory;
  v.size = it->second.size;
  if (on_disk()) v.file = content_path(d);
  return v;
}

bool storage::has_blob(std::string_view repository, const digest& d) const {
  std::lock_guard lock(mutex_);
  const auto* repo = find_repo_locked(repository);
  return repo && repo->blobs.contains(d.str());
}

bool storage::referenced_locked(const std::string& d) const {
  return std::any_of(repos_.begin(), repos_.end(), [&](const auto& r) {
    return r.second.blobs.contains(d) || r.second.manifests.contains(d);
  });
}

// Drops content no repository refers to any more (memory, or its file).
void storage::forget_content_locked(const std::string& d) {
  if (referenced_locked(d)) return;
  blobs_.erase(d);
  if (on_disk()) {
    std::error_code ec;
    fs::remove(content_path(digest::parse(d)), ec);
  }
}

bool storage::delete_blob(std::string_view repository, const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = repos_.find(repository);
  if (it == repos_.end() || it->second.blobs.erase(d.str()) == 0) return false;
  if (on_disk()) {
    std::error_code ec;
    fs::remove(
        repo_path(repository) / "_blobs" / std::string(d.algorithm_name()) / std::string(d.hex()),
        ec);
  }
  forget_content_locked(d.str());
  return true;
}

bool storage::mount_blob(std::string_view from, std::string_view to, const digest& d) {
  std::lock_guard lock(mutex_);
  const auto* source = find_repo_locked(from);
  if (!source || !source->blobs.contains(d.str()) || !blobs_.contains(d.str())) return false;
  if (on_disk())
    write_file_atomic(
        repo_path(to) / "_blobs" / std::string(d.algorithm_name()) / std::string(d.hex()), "");
  repo_locked(to).blobs.insert(d.str());
  return true;
}

std::shared_ptr<upload> storage::forget_upload_locked(
    std::unordered_map<std::string, std::shared_ptr<upload>>::iterator it) {
  auto session = std::move(it->second);
  uploads_.erase(it);
  auto u = upload_usage_.find(session->repository());
  if (u != upload_usage_.end()) {
    u->second.sessions -= 1;
    u->second.bytes -= session->charged_;
    if (u->second.sessions == 0) upload_usage_.erase(u);
  }
  upload_total_.sessions -= 1;
  upload_total_.bytes -= session->charged_;
  session->charged_ = 0;
  return session;
}

void storage::sweep_uploads_locked(const detail::upload_limits& limits,
                                   std::vector<std::shared_ptr<upload>>& doomed) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    auto& s = *it->second;
    if (!s.busy() && detail::upload_expired(s.last_used(), now, limits.idle_timeout))
      doomed.push_back(forget_upload_locked(it++));
    else
      ++it;
  }
}

std::shared_ptr<upload> storage::start_upload(std::string_view repository,
                                              const detail::upload_limits& limits,
                                              detail::upload_limit* refused) {
  std::vector<std::shared_ptr<upload>> doomed;  // destroyed (files removed) outside the lock
  auto id = detail::random_uuid();
  {
    std::lock_guard lock(mutex_);
    // Sweeping costs O(open sessions), which the session limit bounds.
    sweep_uploads_locked(limits, doomed);
    const auto r = upload_usage_.find(std::string(repository));
    const auto why = detail::check_upload_quota(
        upload_total_, r == upload_usage_.end() ? detail::upload_usage{} : r->second, limits, 1, 0);
    if (why != detail::upload_limit::none) {
      if (refused) *refused = why;
      return nullptr;
    }
    // Counted now, so that concurrent starts cannot overshoot.
    upload_total_.sessions += 1;
    upload_usage_[std::string(repository)].sessions += 1;
  }
  std::shared_ptr<upload> session;
  try {
    session = std::make_shared<upload>(id, std::string(repository),
                                       on_disk() ? root_ / "uploads" / id : fs::path());
  } catch (...) {
    std::lock_guard lock(mutex_);
    upload_total_.sessions -= 1;
    auto u = upload_usage_.find(std::string(repository));
    if (--u->second.sessions == 0) upload_usage_.erase(u);
    throw;
  }
  session->touch();
  std::lock_guard lock(mutex_);
  repo_locked(repository);  // a push creates the repository
  uploads_[id] = session;
  return session;
}

std::shared_ptr<upload> storage::find_upload(std::string_view repository, std::string_view id,
                                             const detail::upload_limits& limits) {
  std::shared_ptr<upload> doomed;
  std::lock_guard lock(mutex_);
  auto it = uploads_.find(std::string(id));
  if (it == uploads_.end() || it->second->repository() != repository) return nullptr;
  auto& s = *it->second;
  if (!s.busy() && detail::upload_expired(s.last_used(), std::chrono::steady_clock::now(),
                                          limits.idle_timeout)) {
    doomed = forget_upload_locked(it);
    return nullptr;
  }
  s.touch();
  return it->second;
}

detail::upload_limit storage::charge_upload(upload& session, std::uint64_t n,
                                            const detail::upload_limits& limits, bool dry_run) {
  std::lock_guard lock(mutex_);
  const auto r = upload_usage_.find(session.repository());
  const auto repo = r == upload_usage_.end() ? detail::upload_usage{} : r->second;
  const auto why = detail::check_upload_quota(upload_total_, repo, limits, 0, n);
  if (why != detail::upload_limit::none || dry_run) return why;
  // A session ended meanwhile (drop_upload_sessions) no longer counts.
  if (r == upload_usage_.end() || !uploads_.contains(session.id())) return why;
  upload_total_.bytes += n;
  r->second.bytes += n;
  session.charged_ += n;
  return why;
}

detail::upload_usage storage::upload_usage() const {
  std::lock_guard lock(mutex_);
  return upload_total_;
}

void storage::drop_upload(std::string_view id) {
  std::shared_ptr<upload> doomed;  // destroyed (file removed) outside the lock
  std::lock_guard lock(mutex_);
  auto it = uploads_.find(std::string(id));
  if (it == uploads_.end()) return;
  doomed = forget_upload_locked(it);
}

std::size_t storage::drop_uploads() {
  std::unordered_map<std::string, std::shared_ptr<upload>> doomed;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  doomed.swap(uploads_);
  upload_total_ = {};
  upload_usage_.clear();
  for (auto& [id, s] : doomed) s->charged_ = 0;
  return doomed.size();
}

storage::commit_status storage::commit_upload(const std::shared_ptr<upload>& session,
                                              const digest& expected, std::string* actual) {
  struct dropper {
    storage* self;
    const std::string& id;
    ~dropper() { self->drop_upload(id); }
  } drop{this, session->id()};

  upload& u = *session;
  if (u.failed_) return commit_status::io_error;
  if (u.fd_ >= 0) {
    int fd = std::exchange(u.fd_, -1);
    if (::close(fd) != 0) return commit_status::io_error;
  }
  digest got;
  if (expected.algorithm() == u.hasher_.algorithm()) {
    got = u.hasher_.finish();
  } else if (on_disk()) {
    auto h = hash_file(u.temp_file_, expected.algorithm());
    if (!h) return commit_status::io_error;
    got = *h;
  } else {
    got = digest::of(u.memory_, expected.algorithm());
  }
  if (actual) *actual = got.str();
  if (got != expected) return commit_status::digest_mismatch;

  const std::uint64_t size = on_disk() ? fs::file_size(u.temp_file_) : u.memory_.size();
  std::lock_guard lock(mutex_);
  if (!blobs_.contains(got.str())) {
    blob_entry entry{nullptr, size};
    if (on_disk()) {
      std::error_code ec;
      fs::create_directories(content_path(got).parent_path(), ec);
      fs::rename(u.temp_file_, content_path(got), ec);
      if (ec) return commit_status::io_error;
    } else {
      std::lock_guard bytes_lock(u.memory_mutex_);  // read_at goes on reading them
      entry.memory = std::make_shared<const std::string>(std::move(u.memory_));
      u.committed_memory_ = entry.memory;
    }
    blobs_[got.str()] = std::move(entry);
  }
  if (on_disk()) {
    try {
      write_file_atomic(repo_path(u.repository()) / "_blobs" / std::string(got.algorithm_name()) /
                            std::string(got.hex()),
                        "");
    } catch (const std::system_error&) {
      return commit_status::io_error;
    } catch (const coras::error&) {
      return commit_status::io_error;
    }
  }
  repo_locked(u.repository()).blobs.insert(got.str());
  return commit_status::committed;
}

std::optional<storage::manifest_view> storage::find_manifest(std::string_view repository,
                                                             std::string_view reference) const {
  std::lock_guard lock(mutex_);
  const auto* repo = find_repo_locked(repository);
  if (!repo) return std::nullopt;
  std::string key;
  if (reference.find(':') == std::string_view::npos) {
    auto t = repo->tags.find(reference);
    if (t == repo->tags.end()) return std::nullopt;
    key = t->second;
  } else {
    key = reference;
  }
  auto m = repo->manifests.find(key);
  if (m == repo->manifests.end()) return std::nullopt;
  return manifest_view{digest::parse(key), m->second.bytes, m->second.media_type};
}

bool storage::has_manifest(std::string_view repository, const digest& d) const {
  std::lock_guard lock(mutex_);
  const auto* repo = find_repo_locked(repository);
  return repo && repo->manifests.contains(d.str());
}

void storage::put_manifest(std::string_view repository, const digest& d,
                           std::shared_ptr<const std::string> bytes,
                           const detail::manifest_facts& facts, std::string_view tag) {
  std::vector<std::string> tags;
  if (!tag.empty()) tags.emplace_back(tag);
  put_manifest(repository, d, std::move(bytes), facts, tags);
}

void storage::put_manifest(std::string_view repository, const digest& d,
                           std::shared_ptr<const std::string> bytes,
                           const detail::manifest_facts& facts, std::span<const std::string> tags) {
  std::lock_guard lock(mutex_);
  if (on_disk()) {
    const auto path = content_path(d);
    if (!fs::exists(path)) write_file_atomic(path, *bytes);
    const auto repo = repo_path(repository);
    write_file_atomic(repo / "_manifests" / std::string(d.algorithm_name()) / std::string(d.hex()),
                      facts.media_type);
    for (const auto& tag : tags) write_file_atomic(repo / "_tags" / tag, d.str());
    blobs_.try_emplace(d.str(), blob_entry{nullptr, bytes->size()});
  }
  auto& repo = repo_locked(repository);
  repo.manifests[d.str()] = manifest_entry{
      std::move(bytes), facts.media_type, facts.artifact_type,
      facts.subject ? facts.subject->digest.str() : std::string(), facts.annotations};
  for (const auto& tag : tags) repo.tags[tag] = d.str();
}

bool storage::delete_manifest(std::string_view repository, const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = repos_.find(repository);
  if (it == repos_.end() || it->second.manifests.erase(d.str()) == 0) return false;
  auto& tags = it->second.tags;
  for (auto t = tags.begin(); t != tags.end();) {
    if (t->second != d.str()) {
      ++t;
      continue;
    }
    if (on_disk()) {
      std::error_code ec;
      fs::remove(repo_path(repository) / "_tags" / t->first, ec);
    }
    t = tags.erase(t);
  }
  if (on_disk()) {
    std::error_code ec;
    fs::remove(repo_path(repository) / "_manifests" / std::string(d.algorithm_name()) /
                   std::string(d.hex()),
               ec);
  }
  forget_content_locked(d.str());
  return true;
}

bool storage::delete_tag(std::string_view repository, std::string_view tag) {
  std::lock_guard lock(mutex_);
  auto it = repos_.find(repository);
  if (it == repos_.end()) return false;
  auto t = it->second.tags.find(tag);
  if (t == it->second.tags.end()) return false;
  it->second.tags.erase(t);
  if (on_disk()) {
    std::error_code ec;
    fs::remove(repo_path(repository) / "_tags" / std::string(tag), ec);
  }
  return true;
}

std::optional<std::vector<std::string>> storage::tags(std::string_view repository) const {
  std::lock_guard lock(mutex_);
  const auto* repo = find_repo_locked(repository);
  if (!repo) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(repo->tags.size());
  for (const auto& [tag, target] : repo->tags) out.push_back(tag);
  return out;  // std::map keeps them sorted
}

std::vector<std::string> storage::repositories() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(repos_.size());
  for (const auto& [name, repo] : repos_) out.push_back(name);
  return out;
}

std::vector<descriptor> storage::referrers(std::string_view repository, const digest& subject,
                                           std::string_view artifact_type) const {
  std::lock_guard lock(mutex_);
  std::vector<descriptor> out;
  const auto* repo = find_repo_locked(repository);
  if (!repo) return out;
  for (const auto& [d, m] : repo->manifests) {
    if (m.subject != subject.str()) continue;
    if (!artifact_type.empty() && m.artifact_type != artifact_type) continue;
    descriptor desc;
    desc.media_type = m.media_type;
    desc.digest = digest::parse(d);
    desc.size = static_cast<std::int64_t>(m.bytes->size());
    desc.artifact_type = m.artifact_type;
    desc.annotations = m.annotations;
    out.push_back(std::move(desc));
  }
  return out;  // sorted by digest: the map's order
}

}  // namespace coras::server

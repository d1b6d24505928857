// The store's size limit (mirror_options::max_store_bytes): which fetched
// blobs the store holds, when each was last served (the LRU order), and the
// blobs stored manifests reference (never evicted).
#include "mirror/cache.hpp"

#include <coras/core/manifest.hpp>

namespace coras::mirror::detail {

void cache::served_from_store(std::string_view repository, const digest& d,
                              std::uint64_t bytes) noexcept {
  ++hits_;
  bytes_served_ += bytes;
  std::lock_guard lock(m_);
  if (auto it = stored_.find(key(repository, d.str())); it != stored_.end())
    it->second.last_used = clock::now();
}

void cache::remember_references(const std::string& manifest_key, std::string_view json) {
  if (manifests_.contains(manifest_key)) return;
  std::vector<std::string> refs;
  if (auto m = image_manifest::try_parse(json)) {
    refs.push_back(m->config.digest.str());
    for (const auto& l : m->layers) refs.push_back(l.digest.str());
  }
  for (const auto& r : refs) ++referenced_[r];
  manifests_.emplace(manifest_key, std::move(refs));
}

void cache::stored(const std::string& repository, const digest& d, std::uint64_t size,
                   server::content_sink& sink) {
  std::vector<std::pair<std::string, digest>> doomed;
  {
    std::lock_guard lock(m_);
    auto [it, fresh] = stored_.try_emplace(key(repository, d.str()));
    if (fresh) {
      it->second = stored_blob{repository, d, size, clock::now()};
      store_bytes_ += size;
    }
    while (o_.max_store_bytes > 0 && store_bytes_.load() > o_.max_store_bytes) {
      auto victim = stored_.end();
      for (auto s = stored_.begin(); s != stored_.end(); ++s) {
        if (referenced_.contains(s->second.d.str())) continue;
        if (victim == stored_.end() || s->second.last_used < victim->second.last_used) victim = s;
      }
      if (victim == stored_.end()) break;  // everything left is referenced
      store_bytes_ -= victim->second.size;
      doomed.emplace_back(victim->second.repository, victim->second.d);
      stored_.erase(victim);
    }
  }
  for (const auto& [repo, dd] : doomed)
    if (sink.remove_blob(repo, dd)) ++evictions_;
}

}  // namespace coras::mirror::detail

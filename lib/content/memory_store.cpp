#include "common.hpp"

#include <coras/content/memory_store.hpp>
#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

namespace coras::content {
namespace {

// Stored bytes were verified on the way in and are immutable, so this source
// keeps its verified_digest() promise without hashing again.
class stored_source final : public byte_source {
 public:
  stored_source(std::shared_ptr<const std::string> bytes, digest d)
      : bytes_(std::move(bytes)), digest_(std::move(d)) {}
  std::optional<std::uint64_t> size() const override { return bytes_->size(); }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override {
    std::size_t n = std::min(buffer.size(), bytes_->size() - offset_);
    if (n) std::memcpy(buffer.data(), bytes_->data() + offset_, n);
    offset_ += n;
    co_return n;
  }
  bool rewind() override {
    offset_ = 0;
    return true;
  }
  std::optional<boost::asio::const_buffer> contiguous() const override {
    return boost::asio::buffer(*bytes_);
  }
  std::optional<digest> verified_digest() const override { return digest_; }

 private:
  std::shared_ptr<const std::string> bytes_;
  digest digest_;
  std::size_t offset_ = 0;
};

struct entry {
  std::string media_type;
  std::shared_ptr<const std::string> bytes;
};

}  // namespace

struct memory_store::impl {
  mutable std::mutex mu;
  std::map<digest, entry> content;
  std::map<std::string, descriptor, std::less<>> tags;
  std::map<digest, std::vector<descriptor>> referrers;  // by subject digest
  std::uint64_t total = 0;
};

memory_store::memory_store() : impl_(std::make_unique<impl>()) {}
memory_store::~memory_store() = default;

std::string memory_store::describe() const { return "memory"; }

boost::asio::awaitable<std::shared_ptr<byte_source>> memory_store::fetch(descriptor target) {
  detail::check_descriptor(target, "fetch");
  std::shared_ptr<const std::string> bytes;
  {
    std::lock_guard lock(impl_->mu);
    if (auto it = impl_->content.find(target.digest); it != impl_->content.end())
      bytes = it->second.bytes;
  }
  if (!bytes) throw error(errc::not_found, target.digest.str() + ": not found in memory store");
  if (bytes->size() != static_cast<std::uint64_t>(target.size))
    throw error(errc::size_mismatch,
                target.digest.str() + ": the store holds " + std::to_string(bytes->size()) +
                    " bytes, the descriptor says " + std::to_string(target.size));
  co_return std::make_shared<stored_source>(std::move(bytes), target.digest);
}

boost::asio::awaitable<void> memory_store::push(descriptor expected,
                                                std::shared_ptr<byte_source> content) {
  detail::check_descriptor(expected, "push");
  bool held;
  {
    std::lock_guard lock(impl_->mu);
    held = impl_->content.contains(expected.digest);
  }
  if (held) co_return;

  auto bytes = std::make_shared<std::string>();
  // Reserve what the descriptor promises, within reason: a lying descriptor
  // must not make us allocate gigabytes before a byte arrives.
  bytes->reserve(static_cast<std::size_t>(std::min<std::int64_t>(expected.size, 16 << 20)));
  detail::byte_sink keep = [&bytes](const char* p, std::size_t n) { bytes->append(p, n); };
  co_await detail::read_verified(content, expected, std::move(keep), 1 << 20);

  std::optional<detail::manifest_facts> facts;
  if (media_type::is_manifest(expected.media_type)) facts = detail::read_manifest_facts(*bytes);

  std::lock_guard lock(impl_->mu);
  auto [it, inserted] = impl_->content.try_emplace(
      expected.digest, entry{expected.media_type, std::shared_ptr<const std::string>(bytes)});
  if (!inserted) co_return;  // a concurrent push of the same content won
  impl_->total += bytes->size();
  if (facts && facts->subject) {
    auto& list = impl_->referrers[facts->subject->digest];
    auto same = [&](const descriptor& d) { return d.digest == expected.digest; };
    if (std::none_of(list.begin(), list.end(), same))
      list.push_back(detail::referrer_descriptor(expected, *facts));
  }
}

boost::asio::awaitable<bool> memory_store::exists(descriptor target) {
  detail::check_descriptor(target, "exists");
  std::lock_guard lock(impl_->mu);
  co_return impl_->content.contains(target.digest);
}

boost::asio::awaitable<descriptor> memory_store::resolve(std::string reference) {
  auto ref = detail::parse_reference(reference);
  std::lock_guard lock(impl_->mu);
  if (ref.digest) {
    auto it = impl_->content.find(*ref.digest);
    if (it == impl_->content.end() || !media_type::is_manifest(it->second.media_type))
      throw error(errc::not_found, reference + ": no such manifest in memory store");
    descriptor d;
    d.media_type = it->second.media_type;
    d.digest = it->first;
    d.size = static_cast<std::int64_t>(it->second.bytes->size());
    co_return d;
  }
  auto it = impl_->tags.find(ref.name);
  if (it == impl_->tags.end()) throw error(errc::not_found, reference + ": no such tag");
  co_return it->second;
}

boost::asio::awaitable<void> memory_store::tag(descriptor target, std::string reference) {
  detail::check_descriptor(target, "tag");
  auto ref = detail::parse_reference(reference);
  std::lock_guard lock(impl_->mu);
  auto it = impl_->content.find(target.digest);
  if (it == impl_->content.end())
    throw error(errc::not_found, "cannot tag " + target.digest.str() + ": not in memory store");
  if (it->second.bytes->size() != static_cast<std::uint64_t>(target.size))
    throw error(errc::size_mismatch, "cannot tag " + target.digest.str() +
                                         ": the descriptor's size is not the stored size");
  if (ref.digest) {
    if (*ref.digest != target.digest)
      throw error(errc::invalid_reference,
                  "cannot tag " + target.digest.str() + " as another digest, " + reference);
    co_return;
  }
  if (target.media_type.empty()) target.media_type = it->second.media_type;
  target.data.reset();
  impl_->tags.insert_or_assign(std::move(ref.name), std::move(target));
}

boost::asio::awaitable<std::optional<std::vector<descriptor>>> memory_store::predecessors(
    descriptor subject) {
  detail::check_descriptor(subject, "predecessors");
  std::lock_guard lock(impl_->mu);
  std::vector<descriptor> out;
  if (auto it = impl_->referrers.find(subject.digest); it != impl_->referrers.end())
    out = it->second;
  co_return out;
}

std::vector<std::string> memory_store::tags() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  out.reserve(impl_->tags.size());
  for (const auto& [name, d] : impl_->tags) out.push_back(name);
  return out;
}

std::size_t memory_store::count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->content.size();
}

std::uint64_t memory_store::total_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->total;
}

}  // namespace coras::content

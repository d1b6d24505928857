/// @file
/// A remote repository as a content store, so that copy can move content
/// between a registry and any other store.
#pragma once

#include <coras/content/store.hpp>
#include <coras/remote/repository.hpp>

namespace coras::remote {

/// Adapts a `repository` to `content::store`, with the mount
/// capability (blobs between repositories of one registry are mounted). Fetches stream verified
/// (the blob reader resumes broken downloads); pushes of manifests keep the referrers index up to
/// date on registries without the Referrers API; `predecessors` lists referrers. Thread-safe like
/// the repository handle.
class repository_store final : public content::store, public content::mounter {
 public:
  /// A store over `repo` (a copy of the handle; its shared state is shared).
  explicit repository_store(remote::repository repo) : repo_(std::move(repo)) {}

  /// The repository handle this store works through.
  const remote::repository& repository() const noexcept { return repo_; }

  std::string describe() const override;
  boost::asio::awaitable<std::shared_ptr<byte_source>> fetch(descriptor target) override;
  boost::asio::awaitable<void> push(descriptor expected,
                                    std::shared_ptr<byte_source> content) override;
  boost::asio::awaitable<bool> exists(descriptor target) override;
  boost::asio::awaitable<descriptor> resolve(std::string reference) override;
  boost::asio::awaitable<void> tag(descriptor target, std::string reference) override;
  boost::asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(
      descriptor subject) override;

  content::mounter* as_mounter() noexcept override { return this; }

  /// The registry (host[:port]).
  std::string domain() const override;
  /// The repository name.
  std::string name() const override;
  /// Cross-repository mount of blob `desc` from repository `from` of the
  /// same registry (streamed from there when the registry will not mount).
  boost::asio::awaitable<void> mount(descriptor desc, std::string from) override;

 private:
  remote::repository repo_;
};

}  // namespace coras::remote

// A remote repository as a content store, so that copy can move content
// between a registry and any other store.
#pragma once

#include <coras/content/store.hpp>
#include <coras/remote/repository.hpp>

namespace coras::content {

/// Adapts a `remote::repository` to `store`. Fetches stream verified (the
/// blob reader resumes broken downloads); pushes of manifests keep the
/// referrers index up to date on registries without the Referrers API;
/// `predecessors` lists referrers. Thread-safe like the repository handle.
class remote_store final : public store {
 public:
  explicit remote_store(remote::repository repo) : repo_(std::move(repo)) {}

  const remote::repository& repository() const noexcept { return repo_; }

  std::string describe() const override;
  boost::asio::awaitable<std::shared_ptr<http::body_source>> fetch(descriptor target) override;
  boost::asio::awaitable<void> push(descriptor expected,
                                    std::shared_ptr<http::body_source> content) override;
  boost::asio::awaitable<bool> exists(descriptor target) override;
  boost::asio::awaitable<descriptor> resolve(std::string reference) override;
  boost::asio::awaitable<void> tag(descriptor target, std::string reference) override;
  boost::asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(
      descriptor subject) override;

  /// Cross-repository mount of blob `desc` from repository `from` of the
  /// same registry (streamed from there when the registry will not mount).
  boost::asio::awaitable<void> mount(descriptor desc, std::string from);

 private:
  remote::repository repo_;
};

}  // namespace coras::content

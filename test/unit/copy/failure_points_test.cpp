// Copy fails at every point in turn, the way Beast's fail_count loops a read
// until it succeeds: a store that throws at its n-th call, for n = 1, 2, …
// until a copy gets through. After each failure the destination must hold no
// manifest whose children are missing (copy.hpp's promise), and a second copy
// into the same destination must finish the graph.
#include <coras/content/memory_store.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using coras::descriptor;
using coras::content::memory_store;
using coras::content::store;

namespace {

// Forwards to `inner`, throwing at its `fail_at`-th call (1-based; 0: never).
class failing_store final : public store {
 public:
  failing_store(std::shared_ptr<store> inner, int fail_at)
      : inner_(std::move(inner)), fail_at_(fail_at) {}
  int calls() const noexcept { return calls_; }

  std::string describe() const override { return "failing(" + inner_->describe() + ")"; }
  asio::awaitable<std::shared_ptr<coras::byte_source>> fetch(descriptor d) override {
    tick("fetch");
    co_return co_await inner_->fetch(std::move(d));
  }
  asio::awaitable<void> push(descriptor d, std::shared_ptr<coras::byte_source> c) override {
    tick("push");
    co_await inner_->push(std::move(d), std::move(c));
  }
  asio::awaitable<bool> exists(descriptor d) override {
    tick("exists");
    co_return co_await inner_->exists(std::move(d));
  }
  asio::awaitable<descriptor> resolve(std::string ref) override {
    tick("resolve");
    co_return co_await inner_->resolve(std::move(ref));
  }
  asio::awaitable<void> tag(descriptor d, std::string ref) override {
    tick("tag");
    co_await inner_->tag(std::move(d), std::move(ref));
  }

 private:
  void tick(const char* what) {
    if (++calls_ == fail_at_)
      throw coras::error(
          coras::errc::invalid_response,
          std::string("injected failure at call ") + std::to_string(calls_) + " (" + what + ")");
  }
  std::shared_ptr<store> inner_;
  int fail_at_;
  int calls_ = 0;
};

struct graph {
  std::shared_ptr<memory_store> src = std::make_shared<memory_store>();
  descriptor root;
  std::map<std::string, std::vector<descriptor>> children;  // manifest digest -> children
  std::vector<descriptor> all;
};

template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> op) {
  auto f = asio::co_spawn(ioc, std::move(op), asio::use_future);
  ioc.restart();
  ioc.run();
  return f.get();
}

asio::awaitable<descriptor> put(store& s, std::string media_type, std::string bytes) {
  auto d = descriptor::for_content(media_type, bytes);
  co_await s.push(d, coras::memory_source(std::move(bytes)));
  co_return d;
}

// An index of two platform manifests sharing a layer, each with its own
// config and one layer of its own.
asio::awaitable<void> build(graph& g) {
  coras::image_index index;
  index.media_type = std::string(coras::media_type::oci_index);
  const std::string layer_type = "application/vnd.oci.image.layer.v1.tar";
  const std::string shared_bytes = "shared layer";
  auto shared = co_await put(*g.src, layer_type, shared_bytes);
  g.all.push_back(shared);
  const std::array<std::string, 2> arches{"amd64", "arm64"};
  for (const auto& arch : arches) {
    coras::image_manifest m;
    m.media_type = std::string(coras::media_type::oci_manifest);
    std::string config_json = R"({"architecture":")" + arch + R"(","os":"linux"})";
    std::string config_type(coras::media_type::oci_config);
    m.config = co_await put(*g.src, config_type, config_json);
    const std::string own_bytes = "layer of " + arch;
    auto own = co_await put(*g.src, layer_type, own_bytes);
    m.layers = {shared, own};
    std::string manifest_type(coras::media_type::oci_manifest);
    auto md = co_await put(*g.src, manifest_type, m.to_json());
    md.platform = coras::platform{};
    md.platform->os = "linux";
    md.platform->architecture = arch;
    g.children[md.digest.str()] = {m.config, shared, own};
    g.all.insert(g.all.end(), {m.config, own, md});
    index.manifests.push_back(md);
  }
  std::string index_type(coras::media_type::oci_index);
  g.root = co_await put(*g.src, index_type, index.to_json());
  const std::string tag = "v1";
  co_await g.src->tag(g.root, tag);
  g.children[g.root.digest.str()] = index.manifests;
  g.all.push_back(g.root);
}

// No manifest in `dst` without all of its children.
asio::awaitable<void> check_closed(store& dst, const graph& g) {
  for (const auto& [manifest, kids] : g.children) {
    descriptor m;
    for (const auto& d : g.all)
      if (d.digest.str() == manifest) m = d;
    const bool present = co_await dst.exists(m);
    if (!present) continue;
    for (const auto& k : kids) {
      INFO("manifest " << manifest << " present, child " << k.digest.str());
      const bool child = co_await dst.exists(k);
      CHECK(child);
    }
  }
}

asio::awaitable<void> check_complete(store& dst, const graph& g) {
  for (const auto& d : g.all) {
    INFO(d.digest.str());
    const bool has = co_await dst.exists(d);
    CHECK(has);
  }
  const std::string tag = "v1";
  auto tagged = co_await dst.resolve(tag);
  CHECK(tagged.digest == g.root.digest);
}

}  // namespace

TEST_CASE(
    "copy: a failure at any call of either store leaves a closed graph and a re-run "
    "finishes",
    "[copy][failure-points]") {
  asio::io_context ioc;
  graph g;
  run(ioc, build(g));

  for (bool fail_source : {false, true}) {
    DYNAMIC_SECTION((fail_source ? "source" : "destination") << " fails") {
      int failures = 0;
      for (int n = 1;; ++n) {
        INFO("failing at call " << n);
        auto dst = std::make_shared<memory_store>();
        auto failing_src = std::make_shared<failing_store>(g.src, fail_source ? n : 0);
        auto failing_dst = std::make_shared<failing_store>(dst, fail_source ? 0 : n);
        coras::copy::copy_options o;
        o.concurrency = 2;
        bool failed = false;
        try {
          run(ioc, coras::copy::copy(failing_src, "v1", failing_dst, "v1", o));
        } catch (const coras::error& e) {
          failed = true;
          CHECK(std::string(e.what()).find("injected failure") != std::string::npos);
        }
        auto* counted = fail_source ? failing_src.get() : failing_dst.get();
        if (!failed) {
          // Only a run that never reached call n may succeed.
          CHECK(counted->calls() < n);
          run(ioc, check_complete(*dst, g));
          break;
        }
        ++failures;
        run(ioc, check_closed(*dst, g));
        // A second copy into what is left finishes the graph.
        auto again = run(ioc, coras::copy::copy(g.src, "v1", dst, "v1", o));
        CHECK(again.root.digest == g.root.digest);
        run(ioc, check_complete(*dst, g));
        REQUIRE(n < 200);  // the loop ends: a copy makes a bounded number of calls
      }
      CHECK(failures > 5);  // every call of a real copy was a failure point
    }
  }
}

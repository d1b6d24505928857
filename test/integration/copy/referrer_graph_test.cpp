// copy --referrers against listings a registry controls (issue 17, item 5):
// a loop of referrers is walked once and ends, a referrer copied as the root
// (whose subject lists it back) does not wait for itself, a listed referrer
// that does not point at its parent is skipped with a warning, and a source
// that invents new referrers on every listing hits max_depth or max_nodes.
#include <coras_test/embedded.hpp>
#include <coras_test/remote_content.hpp>

#include <coras/content/memory_store.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/remote/repository_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <map>

namespace asio = boost::asio;
using asio::use_awaitable;
using coras::descriptor;
using coras::diagnostics;
using coras::errc;
using coras::content::memory_store;
using coras::copy::copy_options;
using coras::copy::copy_warning;
using coras::http::client;
using coras::remote::repository;
using coras::remote::repository_store;
using coras::test::random_bytes;
using coras::test::repo_on;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

// The registry's content with listings the test writes: `lies` replaces the
// referrers of a digest; with `invent`, every listing pushes `invent` new
// referrers of the subject first and lists only those (a registry that
// grows the graph on every call).
class listing_store final : public coras::content::store {
 public:
  explicit listing_store(repository repo) : repo_(repo), inner_(std::move(repo)) {}

  std::map<std::string, std::vector<descriptor>> lies;
  int invent = 0;
  int listings = 0;

  std::string describe() const override { return inner_.describe(); }
  asio::awaitable<std::shared_ptr<coras::byte_source>> fetch(descriptor t) override {
    return inner_.fetch(std::move(t));
  }
  asio::awaitable<void> push(descriptor e, std::shared_ptr<coras::byte_source> c) override {
    return inner_.push(std::move(e), std::move(c));
  }
  asio::awaitable<bool> exists(descriptor t) override { return inner_.exists(std::move(t)); }
  asio::awaitable<descriptor> resolve(std::string r) override {
    return inner_.resolve(std::move(r));
  }
  asio::awaitable<void> tag(descriptor t, std::string r) override {
    return inner_.tag(std::move(t), std::move(r));
  }
  asio::awaitable<std::optional<std::vector<descriptor>>> predecessors(descriptor s) override {
    ++listings;
    if (invent > 0) {
      std::vector<descriptor> fresh;
      for (int i = 0; i < invent; ++i) {
        auto json = coras::test::artifact_json(s, "application/vnd.example.made-up",
                                               "made up " + std::to_string(made_++));
        auto mt = std::string(coras::media_type::oci_manifest);
        fresh.push_back(co_await repo_.async_push_bytes(mt, json));
      }
      co_return fresh;
    }
    if (auto it = lies.find(s.digest.str()); it != lies.end()) co_return it->second;
    co_return co_await inner_.predecessors(std::move(s));
  }

 private:
  repository repo_;
  repository_store inner_;
  int made_ = 0;
};

// An image with one layer, and a signature of it (subject: the image).
struct signed_image {
  descriptor image, signature, other;
};

asio::awaitable<signed_image> push_signed(repository& repo) {
  signed_image out;
  co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                 std::string(coras::empty_json));
  for (int i = 0; i < 2; ++i) {
    coras::image_manifest m;
    m.media_type = std::string(coras::media_type::oci_manifest);
    auto layer = random_bytes(1000, 40 + i);
    m.layers.push_back(
        co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar", layer));
    auto config = std::string("{\"n\":") + std::to_string(i) + "}";
    m.config = co_await repo.async_push_bytes("application/vnd.oci.image.config.v1+json", config);
    auto json = m.to_json();
    auto d = co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest), json);
    (i == 0 ? out.image : out.other) = d;
  }
  co_await repo.async_tag(out.image, "v1");
  auto sig_json = coras::test::artifact_json(out.image, "application/vnd.example.sig", "sig");
  out.signature =
      co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest), sig_json);
  co_await repo.async_tag(out.signature, "sig");
  co_return out;
}

}  // namespace

TEST_CASE("copy: a referrers loop A->B->A is walked once, a bogus referrer is skipped",
          "[copy][referrers][security]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto repo = repo_on(c, srv, "loop/src");
    auto g = co_await push_signed(repo);
    auto src = std::make_shared<listing_store>(repo);
    // The image lists its signature (true); the signature lists the image
    // back (a loop) and an unrelated image (its subject is not the signature).
    src->lies[g.image.digest.str()] = {g.signature};
    src->lies[g.signature.digest.str()] = {g.image, g.other};
    std::vector<copy_warning> warnings;
    copy_options o;
    o.referrers = true;
    o.on_warning = [&](const copy_warning& w) { warnings.push_back(w); };

    auto dst = std::make_shared<memory_store>();
    auto result = co_await coras::copy::copy(src, "v1", dst, "v1", o);
    CHECK(co_await dst->exists(g.signature));
    CHECK_FALSE(co_await dst->exists(g.other));
    CHECK(result.referrers_skipped == 1);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].referrer.digest == g.other.digest);
    CHECK(warnings[0].parent.digest == g.signature.digest);
    CHECK(warnings[0].message.find(g.other.digest.str()) != std::string::npos);
    CHECK(src->listings == 2);  // each manifest listed once

    // The signature as the root: its subject (the image) lists it again
    // while its own copy waits for that subject; this used to wait forever.
    auto dst2 = std::make_shared<memory_store>();
    warnings.clear();
    auto again = co_await coras::copy::copy(src, "sig", dst2, "sig", o);
    CHECK(again.root.digest == g.signature.digest);
    CHECK(co_await dst2->exists(g.image));
    CHECK(co_await dst2->exists(g.signature));
    CHECK(warnings.size() == 1);
  });
}

TEST_CASE("copy: the plain registry's own listing, with a referrer as the root, ends",
          "[copy][referrers][security]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto repo = repo_on(c, srv, "self/src");
    auto g = co_await push_signed(repo);
    copy_options o;
    o.referrers = true;
    auto dst = std::make_shared<memory_store>();
    auto r =
        co_await coras::copy::copy(std::make_shared<repository_store>(repo), "sig", dst, "sig", o);
    CHECK(r.referrers_skipped == 0);
    CHECK(co_await dst->exists(g.image));
    CHECK(co_await dst->exists(g.signature));
  });
}

TEST_CASE("copy: a source inventing referrers stops at max_depth and max_nodes",
          "[copy][referrers][security]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto repo = repo_on(c, srv, "grow/src");
    co_await push_signed(repo);
    {
      auto src = std::make_shared<listing_store>(repo);
      src->invent = 1;  // a chain: each new referrer gets one of its own
      copy_options o;
      o.referrers = true;
      o.max_depth = 5;
      diagnostics d;
      auto [ec, r] = co_await coras::copy::async_copy(
          ex, src, "v1", std::make_shared<memory_store>(), "v1", o, d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      INFO(d.message());
      CHECK(d.message().find("copy_options::max_depth") != std::string::npos);
      CHECK(src->listings <= 6);
    }
    {
      auto src = std::make_shared<listing_store>(repo);
      src->invent = 3;  // a tree growing threefold per level
      copy_options o;
      o.referrers = true;
      o.max_depth = 0;
      o.max_nodes = 40;
      diagnostics d;
      auto [ec, r] = co_await coras::copy::async_copy(
          ex, src, "v1", std::make_shared<memory_store>(), "v1", o, d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      INFO(d.message());
      CHECK(d.message().find("copy_options::max_nodes") != std::string::npos);
    }
    {
      // The defaults hold too (the depth cap first: 64).
      auto src = std::make_shared<listing_store>(repo);
      src->invent = 1;
      copy_options o;
      o.referrers = true;
      diagnostics d;
      auto [ec, r] = co_await coras::copy::async_copy(
          ex, src, "v1", std::make_shared<memory_store>(), "v1", o, d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      CHECK(d.message().find("copy_options::max_depth (64)") != std::string::npos);
    }
  });
}

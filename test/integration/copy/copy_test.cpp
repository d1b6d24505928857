// Graph copy between the embedded registry, OCI layouts and memory stores:
// images and multi-platform indexes both ways, shared layers copied once,
// skip-existing, mounts, platform selection, referrers, cancellation and a
// second run that finishes the job.
#include <coras_test/embedded.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/content/memory_store.hpp>
#include <coras/content/oci_layout.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/platform.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/remote/repository_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using coras::descriptor;
using coras::errc;
using coras::content::memory_store;
using coras::content::oci_layout;
using coras::copy::copy_event;
using coras::copy::copy_options;
using coras::copy::copy_result;
using coras::http::client;
using coras::remote::repository;
using coras::remote::repository_store;
using coras::test::random_bytes;
using coras::test::repo_on;
using coras::test::temp_dir;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

std::shared_ptr<repository_store> store_of(repository r) {
  return std::make_shared<repository_store>(r);
}

// Pushes an image manifest over `layers` (and a config unique to `os/arch`).
asio::awaitable<descriptor> push_image(repository& repo, std::vector<std::string> layers,
                                       std::string os, std::string arch) {
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  for (auto& bytes : layers) {
    auto d = co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar", bytes);
    m.layers.push_back(d);
  }
  auto config = "{\"architecture\":\"" + arch + "\",\"os\":\"" + os + "\"}";
  m.config = co_await repo.async_push_bytes("application/vnd.oci.image.config.v1+json", config);
  auto json = m.to_json();
  co_return co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest), json);
}

// An index of two platforms whose images share their first layer; tagged `tag`.
asio::awaitable<descriptor> push_index(repository& repo, std::string tag) {
  auto shared = random_bytes(300'000, 1);
  std::vector<std::string> amd_layers{shared, random_bytes(200'000, 2)};
  std::vector<std::string> arm_layers{shared, random_bytes(200'000, 3)};
  const std::string linux_os = "linux", amd64 = "amd64", arm64 = "arm64";
  auto amd = co_await push_image(repo, amd_layers, linux_os, amd64);
  auto arm = co_await push_image(repo, arm_layers, linux_os, arm64);
  amd.platform = coras::platform{"amd64", "linux", {}, {}, {}, {}};
  arm.platform = coras::platform{"arm64", "linux", {}, {}, {}, {}};
  coras::image_index index;
  index.media_type = std::string(coras::media_type::oci_index);
  index.manifests = {amd, arm};
  auto json = index.to_json();
  auto desc = descriptor::for_content(coras::media_type::oci_index, json);
  co_await repo.async_push_reference(desc, coras::memory_source(json), tag);
  co_return desc;
}

std::size_t requests(const coras::server::registry& srv, std::string_view method,
                     std::string_view path_part) {
  std::size_t n = 0;
  for (auto& r : srv.recent_requests())
    n += r.method == method && r.target.find(path_part) != std::string::npos;
  return n;
}

// Whether `ref` resolves in `s` (not_found: false).
asio::awaitable<bool> resolvable(coras::content::store& s, std::string ref) {
  bool found = true;
  try {
    co_await s.resolve(std::move(ref));
  } catch (const boost::system::system_error& e) {
    if (e.code() != errc::not_found) throw;
    found = false;
  }
  co_return found;
}

}  // namespace

TEST_CASE("copy: registry → OCI layout → another repository, digests unchanged", "[copy]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "copy/src");
    auto root = co_await push_index(src, "v1");
    temp_dir dir;
    auto layout = std::make_shared<oci_layout>(dir.path() / "layout");

    srv.clear_request_log();
    std::vector<copy_event> events;
    copy_options o;
    o.on_event = [&](const copy_event& e) { events.push_back(e); };
    auto r = co_await coras::copy::copy(store_of(src), "v1", layout, "v1", o);
    CHECK(r.root.digest == root.digest);
    CHECK(r.copied == 8);  // index, 2 manifests, 2 configs, 3 distinct layers
    CHECK(r.skipped == 0);
    // The shared layer was fetched once.
    CHECK(requests(srv, "GET", "/blobs/") == 5);
    auto tagged = co_await layout->resolve("v1");
    CHECK(tagged.digest == root.digest);

    // Back into a new repository: same digest, every node there.
    auto dst = repo_on(c, srv, "copy/dst");
    auto back = co_await coras::copy::copy(layout, "v1", store_of(dst), "v2", o);
    CHECK(back.root.digest == root.digest);
    auto resolved = co_await dst.async_resolve("v2");
    CHECK(resolved.digest == root.digest);
    CHECK(back.copied == 8);

    // A second copy transfers nothing: one HEAD on the root, then the tag.
    srv.clear_request_log();
    auto again = co_await coras::copy::copy(layout, "v1", store_of(dst), "v2", o);
    CHECK(again.skipped == 1);
    CHECK(again.copied == 0);
    CHECK(requests(srv, "PUT", "/blobs/") == 0);
    CHECK(requests(srv, "POST", "/blobs/") == 0);
    bool progress = false;
    for (auto& e : events) progress = progress || e.what == copy_event::kind::progress;
    CHECK(progress);
  });
}

TEST_CASE("copy: between repositories of one registry, blobs are mounted", "[copy]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "mount/src");
    auto root = co_await push_index(src, "v1");
    srv.clear_request_log();
    const copy_options defaults;
    auto r = co_await coras::copy::copy(store_of(src), "v1", store_of(repo_on(c, srv, "mount/dst")),
                                        "v1", defaults);
    CHECK(r.root.digest == root.digest);
    CHECK(r.mounted == 5);  // 2 configs + 3 layers
    CHECK(requests(srv, "GET", "/blobs/") == 0);
    CHECK(requests(srv, "POST", "mount=") == 5);

    // Onto itself: nothing moves, only the tag is written.
    srv.clear_request_log();
    auto self = co_await coras::copy::copy(store_of(src), "v1", store_of(src), "v2", defaults);
    CHECK(self.root.digest == root.digest);
    CHECK(self.copied + self.skipped + self.mounted == 0);
    CHECK(requests(srv, "GET", "/blobs/") == 0);
    CHECK(requests(srv, "POST", "/blobs/") == 0);
    auto v2 = co_await src.async_resolve("v2");
    CHECK(v2.digest == root.digest);
  });
}

TEST_CASE("copy: platform selection tags the platform's manifest", "[copy]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "platform/src");
    auto index = co_await push_index(src, "v1");
    auto json = co_await src.async_fetch_bytes(index);
    auto arm = coras::image_index::parse(json).manifests[1];
    auto dst = std::make_shared<memory_store>();
    copy_options o;
    o.platform = coras::platform{"arm64", "linux", {}, {}, {}, {}};
    auto r = co_await coras::copy::copy(store_of(src), "v1", dst, "v1", o);
    CHECK(r.root.digest == arm.digest);
    auto tagged = co_await dst->resolve("v1");
    CHECK(tagged.digest == arm.digest);
    CHECK(r.copied == 4);  // manifest, config, 2 layers
    CHECK_FALSE(co_await dst->exists(index));

    o.platform = coras::platform{"s390x", "linux", {}, {}, {}, {}};
    auto [ec, none] =
        co_await coras::copy::async_copy(ex, store_of(src), "v1", dst, "v2", o, as_tuple);
    CHECK(ec == errc::not_found);
  });
}

TEST_CASE("copy_graph: from a descriptor in hand, nothing resolved, nothing tagged", "[copy]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "graph/src");
    auto root = co_await push_index(src, "v1");
    temp_dir dir;
    auto layout = std::make_shared<oci_layout>(dir.path() / "layout");

    srv.clear_request_log();
    auto r = co_await coras::copy::copy_graph(store_of(src), root, layout);
    CHECK(r.root.digest == root.digest);
    CHECK(r.copied == 8);
    // The root's manifest is fetched by digest, never looked up first.
    CHECK(requests(srv, "HEAD", "/manifests/") == 0);
    CHECK(requests(srv, "GET", "/manifests/") == 3);
    const bool root_there = co_await layout->exists(root);
    CHECK(root_there);
    const bool tagged = co_await resolvable(*layout, "v1");
    CHECK_FALSE(tagged);

    // The platform's entry becomes the copied root, as in copy.
    auto json = co_await src.async_fetch_bytes(root);
    auto arm = coras::image_index::parse(json).manifests[1];
    auto mem = std::make_shared<memory_store>();
    copy_options o;
    o.platform = coras::platform{"arm64", "linux", {}, {}, {}, {}};
    auto one = co_await coras::copy::copy_graph(store_of(src), root, mem, o);
    CHECK(one.root.digest == arm.digest);
    CHECK(one.copied == 4);

    // A descriptor that does not match what the source holds fails as such.
    auto wrong_size = root;
    wrong_size.size += 1;
    auto [ec, none] = co_await coras::copy::async_copy_graph(
        ex, store_of(src), wrong_size, std::make_shared<memory_store>(), copy_options{}, as_tuple);
    CHECK(ec == errc::size_mismatch);
    auto unknown = descriptor::for_content(coras::media_type::oci_index, "{}");
    coras::diagnostics d;
    auto [ec2, none2] = co_await coras::copy::async_copy_graph(
        ex, store_of(src), unknown, std::make_shared<memory_store>(), copy_options{}, d, as_tuple);
    CHECK(ec2 == errc::not_found);
    CHECK(d.message().find(unknown.digest.str()) != std::string::npos);
  });
}

TEST_CASE("copy: a three-platform index, one platform or all", "[copy][platform]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "platforms/src");
    const std::string linux_os = "linux", amd64 = "amd64", arm64 = "arm64", arm = "arm";
    std::vector<std::string> amd_layers{random_bytes(1000, 11)};
    std::vector<std::string> arm64_layers{random_bytes(1000, 12)};
    std::vector<std::string> arm_layers{random_bytes(1000, 13)};
    auto amd = co_await push_image(src, amd_layers, linux_os, amd64);
    auto a64 = co_await push_image(src, arm64_layers, linux_os, arm64);
    auto a32 = co_await push_image(src, arm_layers, linux_os, arm);
    amd.platform = coras::platform{"amd64", "linux", {}, {}, {}, {}};
    a64.platform = coras::platform{"arm64", "linux", {}, {}, "v8", {}};
    a32.platform = coras::platform{"arm", "linux", {}, {}, "v7", {}};
    coras::image_index index;
    index.media_type = std::string(coras::media_type::oci_index);
    index.manifests = {amd, a64, a32};
    auto json = index.to_json();
    auto root = descriptor::for_content(coras::media_type::oci_index, json);
    co_await src.async_push_reference(root, coras::memory_source(json), "v1");

    struct row {
      const char* name;
      std::string platform;
      descriptor want;
    };
    const std::vector<row> rows = {
        {"os/arch", "linux/amd64", amd},
        {"os/arch/variant", "linux/arm64/v8", a64},
        {"arm64 means arm64/v8", "linux/arm64", a64},
        {"arm means arm/v7", "linux/arm", a32},
        {"an alias of the architecture", "linux/aarch64", a64},
    };
    for (const auto& r : rows) {
      INFO(r.name);
      auto dst = std::make_shared<memory_store>();
      copy_options o;
      o.platform = coras::parse_platform(r.platform);
      auto result = co_await coras::copy::copy(store_of(src), "v1", dst, "v1", o);
      CHECK(result.root.digest == r.want.digest);
      CHECK(result.copied == 3);  // manifest, config, layer
      auto tagged = co_await dst->resolve("v1");
      CHECK(tagged.digest == r.want.digest);
      CHECK_FALSE(co_await dst->exists(root));
    }

    // Without a platform: the whole index, every child.
    auto all = std::make_shared<memory_store>();
    auto whole = co_await coras::copy::copy(store_of(src), "v1", all, "v1", copy_options{});
    CHECK(whole.root.digest == root.digest);
    CHECK(whole.copied == 10);  // the index, 3 x (manifest, config, layer)
    for (const auto& child : {amd, a64, a32}) CHECK(co_await all->exists(child));

    // No match: not_found, and the message lists what the index has.
    copy_options none;
    none.platform = coras::parse_platform("linux/s390x");
    auto nothing = std::make_shared<memory_store>();
    coras::diagnostics d;
    auto [ec, r] =
        co_await coras::copy::async_copy(ex, store_of(src), "v1", nothing, "v1", none, d, as_tuple);
    CHECK(ec == errc::not_found);
    CHECK_THAT(d.message(), Catch::Contains("has no manifest for platform linux/s390x; it has "
                                            "linux/amd64, linux/arm64/v8, linux/arm/v7"));
    CHECK_FALSE(co_await nothing->exists(amd));
  });
}

TEST_CASE("copy: referrers come along when asked", "[copy][referrers]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "refs/src");
    std::vector<std::string> one{random_bytes(1000, 4)};
    const std::string linux_os = "linux", amd64 = "amd64";
    auto image = co_await push_image(src, one, linux_os, amd64);
    co_await src.async_tag(image, "v1");
    co_await src.async_push_bytes(std::string(coras::media_type::oci_empty),
                                  std::string(coras::empty_json));
    auto sig_json = coras::test::artifact_json(image, "application/vnd.example.sig", "one");
    auto sig =
        co_await src.async_push_bytes(std::string(coras::media_type::oci_manifest), sig_json);

    auto plain_copy = std::make_shared<memory_store>();
    const copy_options defaults;
    co_await coras::copy::copy(store_of(src), "v1", plain_copy, "v1", defaults);
    CHECK_FALSE(co_await plain_copy->exists(sig));

    temp_dir dir;
    auto layout = std::make_shared<oci_layout>(dir.path() / "with-refs");
    copy_options o;
    o.referrers = true;
    co_await coras::copy::copy(store_of(src), "v1", layout, "v1", o);
    CHECK(co_await layout->exists(sig));
    auto refs = co_await layout->predecessors(image);
    REQUIRE(refs);
    REQUIRE(refs->size() == 1);
    CHECK((*refs)[0].digest == sig.digest);
  });
}

TEST_CASE("copy: cancelled half-way, run again, finished blobs are not fetched twice",
          "[copy][cancel]") {
  coras::test::with_registry({}, [](auto ex, auto& srv) -> asio::awaitable<void> {
    client c(ex);
    auto src = repo_on(c, srv, "cancel/src");
    std::vector<std::string> layers;
    for (unsigned i = 0; i < 8; ++i) layers.push_back(random_bytes(2'000'000, 100 + i));
    const std::string linux_os = "linux", amd64 = "amd64";
    auto image = co_await push_image(src, layers, linux_os, amd64);
    co_await src.async_tag(image, "v1");
    temp_dir dir;
    auto layout = std::make_shared<oci_layout>(dir.path() / "layout");

    // Slow blob GETs, two transfers at a time; cancel once two layers are in.
    coras::server::delay_fault slow;
    slow.before_headers = std::chrono::milliseconds(100);
    slow.count = 1000;
    slow.path_contains = "/blobs/";
    srv.inject_delay(slow);
    asio::cancellation_signal cancel;
    int done = 0;
    copy_options o;
    o.concurrency = 2;
    o.on_event = [&](const copy_event& e) {
      if (e.what == copy_event::kind::copied && ++done == 2)
        asio::post(ex, [&cancel] { cancel.emit(asio::cancellation_type::terminal); });
    };
    auto [ec, partial] =
        co_await coras::copy::async_copy(ex, store_of(src), "v1", layout, "v1", o,
                                         asio::bind_cancellation_slot(cancel.slot(), as_tuple));
    CHECK(ec == asio::error::operation_aborted);
    CHECK(done >= 2);
    CHECK_FALSE(co_await resolvable(*layout, "v1"));

    // Run again: what the first run finished is skipped, not fetched again.
    srv.clear_faults();
    srv.clear_request_log();
    o.on_event = nullptr;
    auto r = co_await coras::copy::copy(store_of(src), "v1", layout, "v1", o);
    CHECK(r.root.digest == image.digest);
    CHECK(r.skipped >= 2);
    CHECK(requests(srv, "GET", "/blobs/") == 9 - r.skipped);  // config + 8 layers
    CHECK(co_await resolvable(*layout, "v1"));
  });
}

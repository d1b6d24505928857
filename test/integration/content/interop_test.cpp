// The OCI image layout store against the tools that read and write layouts:
// skopeo (copies and verifies every blob) both ways, and umoci (unpacks an
// image into a root filesystem). Each test is skipped, with a warning, only
// when its tool is not on PATH.
#include "helpers.hpp"

#include <coras/content/oci_layout.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <cstdlib>
#include <set>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using coras::descriptor;
using coras::content::oci_layout;
using coras::test::fetch_all;
using coras::test::same;
using coras::test::temp_dir;

namespace {

template <class F>
auto run(F f) {
  return coras::test::run([&](auto) { return f(); });
}

bool on_path(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

std::string quote(const fs::path& p) {
  std::string out = "'";
  for (char c : p.string()) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct command_result {
  int status = -1;
  std::string output;
};

// Runs `cmd` with HOME in `home` (skopeo and umoci look for configuration
// there), stdout and stderr captured.
command_result sh(const temp_dir& home, const std::string& cmd) {
  auto out = home / "command-output";
  auto full = "HOME=" + quote(home.path()) + " " + cmd + " >" + quote(out) + " 2>&1";
  int raw = std::system(full.c_str());
  command_result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.output = coras::test::read_file(out);
  return r;
}

std::string skopeo() { return "skopeo --insecure-policy"; }

// Fetches the manifest `tag` names and every blob it lists, each read to its
// end through the store's verifying source; returns the manifest and the blobs.
struct fetched_image {
  descriptor root;
  coras::image_manifest manifest;
  std::string config;
  std::vector<std::string> layers;
};
asio::awaitable<fetched_image> fetch_image(oci_layout& s, std::string tag) {
  fetched_image out;
  out.root = co_await s.resolve(tag);
  auto json = co_await fetch_all(s, out.root);
  out.manifest = coras::image_manifest::parse(json);
  out.config = co_await fetch_all(s, out.manifest.config);
  for (const auto& l : out.manifest.layers) {
    auto bytes = co_await fetch_all(s, l);
    out.layers.push_back(std::move(bytes));
  }
  co_return out;
}

// The same image as `img`, byte for byte.
void check_identical(const fetched_image& got, const coras::test::image& img) {
  CHECK(got.root.digest == img.manifest.desc.digest);
  CHECK(got.root.media_type == coras::media_type::oci_manifest);
  CHECK(same(got.config, img.config.bytes));
  REQUIRE(got.layers.size() == img.layers.size());
  for (std::size_t i = 0; i < got.layers.size(); ++i)
    CHECK(same(got.layers[i], img.layers[i].bytes));
}

// `gzip -dc` of `bytes`.
std::string gunzip(const temp_dir& tmp, const std::string& bytes) {
  coras::test::write_file(tmp / "layer.gz", bytes);
  auto r = sh(tmp, "gzip -dc " + quote(tmp / "layer.gz"));
  INFO(r.output.substr(0, 200));
  REQUIRE(r.status == 0);
  return r.output;
}

}  // namespace

TEST_CASE("oci layout: skopeo copies what coras writes, coras reads what skopeo writes",
          "[content][layout][interop][skopeo]") {
  if (!on_path("skopeo")) {
    WARN("skopeo is not on PATH: skipped");
    return;
  }
  temp_dir tmp;
  auto src_dir = tmp / "coras-written";
  auto dst_dir = tmp / "skopeo-written";
  auto img = coras::test::make_image("interop");
  auto referrer =
      coras::test::make_referrer(img.manifest.desc, "application/vnd.example.sig", "sig");
  {
    oci_layout s(src_dir);
    run([&]() -> asio::awaitable<void> {
      co_await coras::test::push_image(s, img, "v1");
      auto e = coras::empty_json_descriptor();
      auto esrc = coras::memory_source(std::string(coras::empty_json));
      co_await s.push(e, esrc);
      auto rsrc = coras::memory_source(referrer.bytes);
      co_await s.push(referrer.desc, rsrc);  // an unnamed entry skopeo must tolerate
    });
  }

  // skopeo sees exactly our manifest.
  auto raw = sh(tmp, skopeo() + " inspect --raw oci:" + quote(src_dir) + ":v1");
  INFO(raw.output);
  REQUIRE(raw.status == 0);
  CHECK(raw.output == img.manifest.bytes);

  // skopeo copies it (verifying every blob it reads) into a layout of its
  // own. By default skopeo 1.9 gzips uncompressed layers for an oci:
  // destination, so that copy has new layers and a new manifest.
  auto copy =
      sh(tmp, skopeo() + " copy oci:" + quote(src_dir) + ":v1 oci:" + quote(dst_dir) + ":v2");
  INFO(copy.output);
  REQUIRE(copy.status == 0);

  // coras reads skopeo's layout: the tag, every blob verified, and the
  // layers are ours once decompressed.
  oci_layout dst(dst_dir);
  CHECK(dst.tags() == std::vector<std::string>{"v2"});
  auto v2 = run([&]() { return fetch_image(dst, "v2"); });
  CHECK(v2.root.media_type == coras::media_type::oci_manifest);
  CHECK(v2.root.digest != img.manifest.desc.digest);
  CHECK(same(v2.config, img.config.bytes));
  REQUIRE(v2.layers.size() == img.layers.size());
  for (std::size_t i = 0; i < v2.layers.size(); ++i) {
    CHECK(v2.manifest.layers[i].media_type == coras::media_type::oci_layer_gzip);
    CHECK(same(gunzip(tmp, v2.layers[i]), img.layers[i].bytes));
  }

  // Asked to keep layers as they are, skopeo's copy is our image, byte for byte.
  auto exact =
      sh(tmp, skopeo() + " copy --dest-oci-accept-uncompressed-layers oci:" + quote(src_dir) +
                  ":v1 oci:" + quote(dst_dir) + ":same");
  INFO(exact.output);
  REQUIRE(exact.status == 0);
  oci_layout dst2(dst_dir);
  CHECK(dst2.tags() == std::vector<std::string>{"same", "v2"});
  auto same_image = run([&]() { return fetch_image(dst2, "same"); });
  check_identical(same_image, img);

  // skopeo writes into a layout coras made: coras's entries survive its rewrite.
  auto into =
      sh(tmp, skopeo() + " copy --dest-oci-accept-uncompressed-layers oci:" + quote(dst_dir) +
                  ":same oci:" + quote(src_dir) + ":from-skopeo");
  INFO(into.output);
  REQUIRE(into.status == 0);
  oci_layout reopened(src_dir);
  CHECK(reopened.tags() == std::vector<std::string>{"from-skopeo", "v1"});
  auto from_skopeo = run([&]() { return fetch_image(reopened, "from-skopeo"); });
  check_identical(from_skopeo, img);
  auto preds = run([&]() { return reopened.predecessors(img.manifest.desc); });
  REQUIRE(preds);
  REQUIRE(preds->size() == 1);
  CHECK(preds->front().digest == referrer.desc.digest);

  // And coras tags in skopeo's layout, which skopeo then reads.
  run([&]() { return dst2.tag(v2.root, "tagged-by-coras"); });
  auto again = sh(tmp, skopeo() + " inspect --raw oci:" + quote(dst_dir) + ":tagged-by-coras");
  INFO(again.output);
  REQUIRE(again.status == 0);
  auto v2_json = run([&]() { return fetch_all(dst2, v2.root); });
  CHECK(again.output == v2_json);
}

TEST_CASE("oci layout: skopeo rejects a blob altered after coras wrote it",
          "[content][layout][interop][skopeo]") {
  // The control for the test above: skopeo's copy really verifies, so its
  // success there means our blobs are what their digests say.
  if (!on_path("skopeo")) {
    WARN("skopeo is not on PATH: skipped");
    return;
  }
  temp_dir tmp;
  auto src_dir = tmp / "layout";
  auto img = coras::test::make_image("control");
  {
    oci_layout s(src_dir);
    run([&]() { return coras::test::push_image(s, img, "v1"); });
  }
  auto layer_path = src_dir / "blobs" / "sha256" / std::string(img.layers[0].desc.digest.hex());
  auto bytes = coras::test::read_file(layer_path);
  bytes[bytes.size() - 2000] ^= 1;
  coras::test::write_file(layer_path, bytes);
  auto copy =
      sh(tmp, skopeo() + " copy oci:" + quote(src_dir) + ":v1 oci:" + quote(tmp / "out") + ":v1");
  INFO(copy.output);
  CHECK(copy.status != 0);
}

TEST_CASE("oci layout: umoci lists and unpacks what coras writes",
          "[content][layout][interop][umoci]") {
  if (!on_path("umoci")) {
    WARN("umoci is not on PATH: skipped (Debian package umoci)");
    return;
  }
  temp_dir tmp;
  auto dir = tmp / "layout";
  auto img = coras::test::make_image("umoci");
  {
    oci_layout s(dir);
    run([&]() { return coras::test::push_image(s, img, "v1"); });
  }
  auto ls = sh(tmp, "umoci ls --layout " + quote(dir));
  INFO(ls.output);
  REQUIRE(ls.status == 0);
  CHECK(ls.output == "v1\n");

  auto bundle = tmp / "bundle";
  auto unpack = sh(tmp, "umoci unpack --rootless --image " + quote(dir) + ":v1 " + quote(bundle));
  INFO(unpack.output);
  REQUIRE(unpack.status == 0);
  for (int i = 0; i < 2; ++i) {
    auto f = bundle / "rootfs" / ("file" + std::to_string(i) + ".txt");
    auto expected = "layer " + std::to_string(i) + " of umoci\n" +
                    std::string(300 * 1024 * static_cast<std::size_t>(i + 1), 'x');
    CHECK(same(coras::test::read_file(f), expected));
  }
}

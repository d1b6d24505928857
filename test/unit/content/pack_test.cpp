#include <coras/content/pack.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coras;

namespace {

const std::string title_key(content::title_annotation);

descriptor blob(char hex, std::string media_type = "application/vnd.oci.image.layer.v1.tar") {
  descriptor d;
  d.media_type = std::move(media_type);
  d.digest = digest::parse("sha256:" + std::string(64, hex));
  d.size = 1000 + hex;
  return d;
}

}  // namespace

TEST_CASE("pack: files become an image manifest with the empty config", "[content][pack]") {
  content::pack_options o;
  o.artifact_type = "application/vnd.example.art";
  o.annotations["org.example.k"] = "v";
  auto with_note = blob('b', "text/plain");
  with_note.annotations["org.example.layer"] = "kept";
  with_note.annotations[title_key] = "replaced";
  const auto packed =
      content::pack_artifact({{blob('a'), "hello.txt"}, {with_note, "data.bin"}}, o);

  CHECK(packed.config == empty_json_descriptor());
  CHECK(packed.config.media_type == media_type::oci_empty);
  CHECK(packed.config.digest == digest::of(empty_json));
  REQUIRE(packed.layers.size() == 2);
  CHECK(packed.layers[0].digest == blob('a').digest);
  CHECK(packed.layers[0].annotations == annotations{{title_key, "hello.txt"}});
  CHECK(packed.layers[1].media_type == "text/plain");
  CHECK(packed.layers[1].annotations ==
        annotations{{"org.example.layer", "kept"}, {title_key, "data.bin"}});

  // The manifest is exactly the image_manifest those parts make (the bytes
  // `coras push` has always pushed).
  image_manifest m;
  m.media_type = media_type::oci_manifest;
  m.artifact_type = o.artifact_type;
  m.config = packed.config;
  m.layers = packed.layers;
  m.annotations = o.annotations;
  CHECK(packed.manifest_json == m.to_json());
  CHECK(image_manifest::parse(packed.manifest_json) == m);

  CHECK(packed.manifest.media_type == media_type::oci_manifest);
  CHECK(packed.manifest.digest == digest::of(packed.manifest_json));
  CHECK(packed.manifest.size == static_cast<std::int64_t>(packed.manifest_json.size()));
  CHECK(packed.manifest.artifact_type == "application/vnd.example.art");
  CHECK(packed.manifest.annotations == o.annotations);
}

TEST_CASE("pack: the options shape the manifest", "[content][pack]") {
  SECTION("no artifact type, no annotations: neither member") {
    const auto packed = content::pack_artifact({{blob('a'), "a.txt"}});
    CHECK(packed.manifest_json.find("artifactType") == std::string::npos);
    CHECK(packed.manifest_json.find("\"annotations\":{\"org.opencontainers.image.title\"") !=
          std::string::npos);
    const auto m = image_manifest::parse(packed.manifest_json);
    CHECK(m.artifact_type.empty());
    CHECK(m.annotations.empty());
    CHECK_FALSE(m.subject);
    CHECK(packed.manifest.artifact_type.empty());
  }
  SECTION("a subject") {
    content::pack_options o;
    o.artifact_type = "application/spdx+json";
    o.subject = descriptor::for_content(media_type::oci_manifest, "{\"x\":1}");
    const auto packed = content::pack_artifact({{blob('a'), "sbom.json"}}, o);
    const auto m = image_manifest::parse(packed.manifest_json);
    REQUIRE(m.subject);
    CHECK(*m.subject == *o.subject);
  }
  SECTION("no blobs: the empty descriptor is the one layer") {
    content::pack_options o;
    o.artifact_type = "application/vnd.example.none";
    const auto packed = content::pack_artifact({}, o);
    REQUIRE(packed.layers.size() == 1);
    CHECK(packed.layers[0] == empty_json_descriptor());
    CHECK(image_manifest::parse(packed.manifest_json).layers == packed.layers);
  }
  SECTION("deterministic: the same input, the same digest") {
    const auto a = content::pack_artifact({{blob('a'), "a"}, {blob('b'), "b"}});
    const auto b = content::pack_artifact({{blob('a'), "a"}, {blob('b'), "b"}});
    const auto swapped = content::pack_artifact({{blob('b'), "b"}, {blob('a'), "a"}});
    CHECK(a.manifest == b.manifest);
    CHECK(a.manifest.digest != swapped.manifest.digest);  // order is kept
  }
}

TEST_CASE("pack: titles a pull could not write are refused", "[content][pack]") {
  struct row {
    std::string name;
    std::vector<content::titled_blob> blobs;
    std::string message;
  };
  const std::vector<row> rows = {
      {"an empty title",
       {{blob('a'), "a"}, {blob('c'), ""}},
       "blob sha256:" + std::string(64, 'c') + " has an empty title"},
      {"two blobs, one title", {{blob('a'), "x"}, {blob('b'), "x"}}, "two blobs are titled \"x\""},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      try {
        (void)content::pack_artifact(r.blobs);
        FAIL("no error");
      } catch (const coras::error& e) {
        CHECK(e.code() == errc::invalid_argument);
        CHECK(std::string(e.what()) == r.message);
      }
    }
  }
}

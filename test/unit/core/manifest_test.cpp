#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace coras;

namespace {

// The shape of a real multi-platform OCI index (as docker buildx pushes one),
// platforms with variant and os.version, and an attestation entry.
constexpr const char* oci_index_json = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
      "size": 1022,
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:8a3a4e1e5a4b5e3c8e2c3b0e0f06f1d9b0e7f7a3f33e7ad4a2b7e8b1c0f5e2d1",
      "size": 1022,
      "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:1b1c6a4a5e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293",
      "size": 2345,
      "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5329",
                   "os.features": ["win32k"]}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
      "size": 839,
      "annotations": {
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0"
      },
      "platform": {"architecture": "unknown", "os": "unknown"}
    }
  ],
  "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
})";

// A Docker v2 schema 2 manifest, as docker-registry serves it.
constexpr const char* docker_manifest_json = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1469,
      "digest": "sha256:feb5d9fea6a5e9606aa995e879d862b825965ba48de054caab5ef356dc6b3412"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2479,
         "digest": "sha256:2db29710123e3e53a794f2694094b9b4338aa9ee5c40b930cb8063a1be392c54"
      }
   ]
})";

// An OCI 1.1 artifact (signature-like) with subject, artifactType and the empty config.
constexpr const char* artifact_json = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.example.sbom.v1",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {
      "mediaType": "application/spdx+json",
      "digest": "sha256:5c6e1a0f3e2b8b1f7a9c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",
      "size": 12345,
      "annotations": {"org.opencontainers.image.title": "sbom.spdx.json"}
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
    "size": 1022
  },
  "annotations": {"org.opencontainers.image.created": "2024-05-01T12:00:00Z", "a": "b"}
})";

}  // namespace

TEST_CASE("manifest: an OCI index with platforms round-trips", "[manifest]") {
  auto index = image_index::parse(oci_index_json);
  CHECK(index.media_type == media_type::oci_index);
  REQUIRE(index.manifests.size() == 4);
  REQUIRE(index.manifests[1].platform);
  CHECK(index.manifests[1].platform->variant == "v7");
  CHECK(index.manifests[2].platform->os_version == "10.0.17763.5329");
  CHECK(index.manifests[2].platform->os_features == std::vector<std::string>{"win32k"});
  CHECK(index.manifests[3].annotations.at("vnd.docker.reference.type") == "attestation-manifest");
  CHECK(index.annotations.size() == 1);

  auto json = index.to_json();
  CHECK(image_index::parse(json) == index);
  CHECK(image_index::parse(json).to_json() == json);  // deterministic
  CHECK(json.find(' ') == std::string::npos);
  CHECK(
      json.rfind(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)",
          0) == 0);
}

TEST_CASE("manifest: a Docker v2 manifest round-trips", "[manifest]") {
  auto m = image_manifest::parse(docker_manifest_json);
  CHECK(m.media_type == media_type::docker_manifest);
  CHECK(m.config.media_type == media_type::docker_config);
  CHECK(m.config.size == 1469);
  REQUIRE(m.layers.size() == 1);
  CHECK(m.layers[0].digest.str() ==
        "sha256:2db29710123e3e53a794f2694094b9b4338aa9ee5c40b930cb8063a1be392c54");
  CHECK_FALSE(m.subject);
  auto json = m.to_json();
  CHECK(image_manifest::parse(json) == m);
  // Go's member order: mediaType, digest, size.
  CHECK(
      json.find(
          R"({"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:feb5)") !=
      std::string::npos);
}

TEST_CASE("manifest: an artifact with subject keeps subject, artifactType, data and annotations",
          "[manifest]") {
  auto m = image_manifest::parse(artifact_json);
  CHECK(m.artifact_type == "application/vnd.example.sbom.v1");
  REQUIRE(m.subject);
  CHECK(m.subject->size == 1022);
  CHECK(m.config.data == std::string("{}"));
  CHECK(m.config == [] {
    auto d = empty_json_descriptor();
    d.data = "{}";
    return d;
  }());
  CHECK(m.layers[0].annotations.at("org.opencontainers.image.title") == "sbom.spdx.json");
  auto json = m.to_json();
  CHECK(image_manifest::parse(json) == m);
  // Annotations come out sorted.
  CHECK(json.find(R"("annotations":{"a":"b","org.opencontainers.image.created")") !=
        std::string::npos);
  CHECK(json.find(R"("data":"e30=")") != std::string::npos);

  auto summary = summarize_manifest(artifact_json);
  CHECK(summary.media_type == media_type::oci_manifest);
  CHECK(summary.artifact_type == "application/vnd.example.sbom.v1");
  CHECK(summary.config_media_type == media_type::oci_empty);
  REQUIRE(summary.subject);
  CHECK(summary.subject->digest == m.subject->digest);
}

TEST_CASE("manifest: the 1.1-rc artifact manifest and a Docker manifest list", "[manifest]") {
  artifact_manifest a;
  a.artifact_type = "application/vnd.example.signature";
  a.blobs.push_back(descriptor::for_content("application/octet-stream", "sig"));
  a.subject = descriptor::for_content(std::string(media_type::oci_manifest), "{}");
  a.annotations["k"] = "v";
  auto json = a.to_json();
  CHECK(json.rfind(
            R"({"mediaType":"application/vnd.oci.artifact.manifest.v1+json","artifactType":)", 0) ==
        0);
  CHECK(artifact_manifest::parse(json) == a);

  image_index list;
  list.media_type = media_type::docker_manifest_list;
  descriptor d = descriptor::for_content(std::string(media_type::docker_manifest), "x");
  d.platform = platform{"arm64", "linux", "", {}, "v8", {}};
  list.manifests.push_back(d);
  CHECK(image_index::parse(list.to_json()) == list);
  CHECK(list.to_json().find(R"("platform":{"architecture":"arm64","os":"linux","variant":"v8"})") !=
        std::string::npos);
}

TEST_CASE("manifest: empty lists are written as [] (not null), empty optionals are omitted",
          "[manifest]") {
  image_manifest m;
  m.media_type = media_type::oci_manifest;
  m.config = empty_json_descriptor();
  CHECK(
      m.to_json() ==
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.empty.v1+json",)"
      R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},)"
      R"("layers":[]})");
  image_index i;
  i.media_type = media_type::oci_index;
  CHECK(
      i.to_json() ==
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
}

TEST_CASE("manifest: malformed documents fail with the JSON path of the fault", "[manifest]") {
  struct bad {
    std::string json;
    std::string message_part;
  };
  const std::string d =
      R"("mediaType":"a/b","digest":"sha256:)" + std::string(64, 'a') + R"(","size":1)";
  const std::vector<bad> cases = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "expected an object, found an array"},
      {R"({"mediaType":"application/vnd.oci.image.manifest.v1+json"})",
       "schemaVersion: required member is missing"},
      {R"({"schemaVersion":1,"config":{)" + d + "}}", "schemaVersion: must be 2, found 1"},
      {R"({"schemaVersion":2})", "config: required member is missing"},
      {R"({"schemaVersion":2,"config":[]})", "config: expected an object, found an array"},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:x","size":1}})",
       "config.mediaType: required member is missing"},
      {R"({"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:x","size":1}})",
       "config.digest: invalid digest"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(},"layers":[{)" + d +
           R"(},{"mediaType":"a/b","digest":"sha256:)" + std::string(64, 'a') + R"(","size":-1}]})",
       "layers[1].size: size is negative"},
      {R"({"schemaVersion":2,"config":{)" + d +
           R"(},"layers":[{"mediaType":"a/b","digest":"sha256:)" + std::string(64, 'a') +
           R"(","size":1.5}]})",
       "layers[0].size: expected an integer, found a fraction"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(},"layers":{}})",
       "layers: expected an array, found an object"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(},"annotations":{"k":1}})",
       "annotations.k: annotation values must be strings"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(,"data":"***"}})",
       "config.data: not valid base64"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(,"urls":[1]}})",
       "config.urls[0]: expected a string"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(},"subject":"x"})",
       "subject: expected an object"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{)" +
           d + "}}",
       "mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image manifest type"},
      {R"({"schemaVersion":2,"config":{)" + d + R"(,"platform":{"os":"linux"}}})",
       "config.platform.architecture: required member is missing"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    std::string why;
    auto r = image_manifest::try_parse(c.json, &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::invalid_manifest);
    CHECK_THAT(why, Catch::Contains(c.message_part));
    CHECK_THROWS_AS(image_manifest::parse(c.json), coras::error);
  }
  CHECK_THAT(image_index::try_parse(R"({"schemaVersion":2})").error().message(),
             Catch::Contains("invalid manifest"));
  std::string why;
  CHECK_FALSE(image_index::try_parse(R"({"schemaVersion":2})", &why).has_value());
  CHECK_THAT(why, Catch::Contains("manifests: required member is missing"));
  CHECK_FALSE(artifact_manifest::try_parse(R"({"mediaType":"x"})", &why).has_value());
  CHECK_THAT(why, Catch::Contains("is not the artifact manifest type"));
}

TEST_CASE("manifest: deep nesting and huge documents fail cleanly", "[manifest]") {
  std::string deep(10000, '[');
  std::string why;
  CHECK_FALSE(image_manifest::try_parse(deep, &why).has_value());
  CHECK_THAT(why, Catch::Contains("not valid JSON"));
  std::string big = R"({"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:)" +
                    std::string(64, 'a') + R"(","size":1},"layers":[)";
  for (int i = 0; i < 20000; ++i) {
    if (i) big += ',';
    big += R"({"mediaType":"a/b","digest":"sha256:)" + std::string(64, 'a') + R"(","size":1})";
  }
  big += "]}";
  CHECK(image_manifest::parse(big).layers.size() == 20000);
}

TEST_CASE("manifest: descriptors alone", "[manifest]") {
  auto d = descriptor::for_content("text/plain", "hello");
  d.urls = {"https://example.com/hello"};
  d.artifact_type = "application/x";
  CHECK(parse_descriptor(to_json(d)) == d);
  CHECK_THROWS_AS(parse_descriptor(R"({"mediaType":"a/b"})"), coras::error);
  CHECK(media_type::is_manifest(media_type::docker_manifest_list));
  CHECK_FALSE(media_type::is_manifest(media_type::oci_layer_gzip));
  CHECK(media_type::is_index(media_type::oci_index));
}

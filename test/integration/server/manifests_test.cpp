// The embedded registry's manifests, tags, catalog and Referrers API.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace coras::test;
using coras::server::registry_options;

namespace {

constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";

std::string error_code_of(const http_response& r) {
  auto p = r.body.find("\"code\":\"");
  if (p == std::string::npos) return {};
  p += 8;
  return r.body.substr(p, r.body.find('"', p) - p);
}

// Pushes a config and a layer into `repo` and returns an image manifest over them.
std::string image(http_client& c, std::string_view repo, std::string_view seed) {
  const std::string config = R"({"seed":")" + std::string(seed) + "\"}";
  const std::string layer = "layer of " + std::string(seed);
  push_blob(c, repo, config);
  push_blob(c, repo, layer);
  return image_manifest_json({sha256(config), config.size()}, {{sha256(layer), layer.size()}});
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("manifest put, get, head, delete", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const auto m = image(c, "app", "one");
  const auto d = sha256(m);

  auto r = put_manifest(c, "app", "v1", m, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(r.header("Location") == "/v2/app/manifests/" + d);
  CHECK(r.header("Docker-Content-Digest") == d);
  CHECK_FALSE(r.has_header("OCI-Subject"));

  r = c.get("/v2/app/manifests/v1");
  CHECK(r.status == 200);
  CHECK(r.body == m);
  CHECK(r.header("Content-Type") == oci_manifest);
  CHECK(r.header("Docker-Content-Digest") == d);
  r = c.request("HEAD", "/v2/app/manifests/" + d);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == std::to_string(m.size()));
  CHECK(r.body.empty());

  SECTION("by digest") {
    r = put_manifest(c, "app", d, m, oci_manifest);
    CHECK(r.status == 201);
    r = put_manifest(c, "app", sha256("other"), m, oci_manifest);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
  }
  SECTION("exact bytes and Content-Type are kept") {
    const std::string spaced = " " + m + "\n";
    r = put_manifest(c, "app", "spaced", spaced, oci_manifest);
    REQUIRE(r.status == 201);
    CHECK(r.header("Docker-Content-Digest") == sha256(spaced));
    CHECK(c.get("/v2/app/manifests/spaced").body == spaced);
  }
  SECTION("missing blobs") {
    const auto bad = image_manifest_json({sha256("{}"), 2}, {{sha256("absent"), 6}});
    push_blob(c, "app", "{}");
    r = put_manifest(c, "app", "bad", bad, oci_manifest);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "MANIFEST_BLOB_UNKNOWN");
    CHECK(r.body.find(sha256("absent")) != std::string::npos);
    // Blobs of another repository do not count.
    r = put_manifest(c, "elsewhere", "v1", m, oci_manifest);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "MANIFEST_BLOB_UNKNOWN");
  }
  SECTION("invalid documents") {
    r = put_manifest(c, "app", "v2", "{not json", oci_manifest);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "MANIFEST_INVALID");
    r = put_manifest(c, "app", "v2", m, oci_index);  // body says manifest
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "MANIFEST_INVALID");
    r = put_manifest(c, "app", "bad:tag", m, oci_manifest);
    CHECK(r.status == 400);
  }
  SECTION("unknown") {
    r = c.get("/v2/app/manifests/v9");
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "MANIFEST_UNKNOWN");
    r = c.get("/v2/app/manifests/" + sha256("x"));
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "MANIFEST_UNKNOWN");
    r = c.get("/v2/nope/manifests/v1");
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "NAME_UNKNOWN");
  }
  SECTION("delete by tag removes only the tag") {
    CHECK(c.request("DELETE", "/v2/app/manifests/v1").status == 202);
    CHECK(c.get("/v2/app/manifests/v1").status == 404);
    CHECK(c.get("/v2/app/manifests/" + d).status == 200);
    CHECK(c.request("DELETE", "/v2/app/manifests/v1").status == 404);
  }
  SECTION("delete by digest removes the tags too") {
    REQUIRE(put_manifest(c, "app", "latest", m, oci_manifest).status == 201);
    CHECK(c.request("DELETE", "/v2/app/manifests/" + d).status == 202);
    CHECK(c.get("/v2/app/manifests/" + d).status == 404);
    CHECK(c.get("/v2/app/manifests/latest").status == 404);
    CHECK(c.get("/v2/app/tags/list").body == R"({"name":"app","tags":[]})");
  }
}

TEST_CASE("manifest put by digest with ?tag= creates the tags, an OCI-Tag header each",
          "[server]") {
  running_registry reg;
  auto c = reg.client();
  const auto m = image(c, "tagged", "one");
  const auto d = sha256(m);
  auto oci_tag_values = [](const http_response& r) {
    std::vector<std::string> out;
    for (const auto& [name, value] : r.headers)
      if (name == "OCI-Tag" || name == "oci-tag") out.push_back(value);
    return out;
  };

  auto r = put_manifest(c, "tagged", d + "?tag=1.2.3&tag=1.2&tag=latest&tag=1.2", m, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(r.header("Docker-Content-Digest") == d);
  CHECK(oci_tag_values(r) == std::vector<std::string>{"1.2.3", "1.2", "latest"});
  for (const auto* tag : {"1.2.3", "1.2", "latest"}) {
    INFO(tag);
    auto got = c.get("/v2/tagged/manifests/" + std::string(tag));
    CHECK(got.status == 200);
    CHECK(got.header("Docker-Content-Digest") == d);
  }
  CHECK(c.get("/v2/tagged/tags/list").body ==
        R"({"name":"tagged","tags":["1.2","1.2.3","latest"]})");

  // By tag, with more: the path's tag is among those created.
  r = put_manifest(c, "tagged", "v1?tag=v1.0", m, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(oci_tag_values(r) == std::vector<std::string>{"v1", "v1.0"});
  CHECK(c.get("/v2/tagged/manifests/v1.0").status == 200);

  // Without ?tag=: no OCI-Tag header (clients tell a registry that ignores
  // the query by its absence).
  r = put_manifest(c, "tagged", d, m, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(oci_tag_values(r).empty());
  r = put_manifest(c, "tagged", "v2", m, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(oci_tag_values(r).empty());

  // A malformed tag refuses the whole PUT; nothing is created.
  r = put_manifest(c, "tagged", d + "?tag=ok&tag=.bad", m, oci_manifest);
  CHECK(r.status == 400);
  CHECK(error_code_of(r) == "MANIFEST_INVALID");
  CHECK(r.body.find(".bad") != std::string::npos);
  CHECK(c.get("/v2/tagged/manifests/ok").status == 404);

  // More than 100: 414, as the spec allows.
  std::string many;
  for (int i = 0; i <= 100; ++i) many += (i ? "&tag=t" : "?tag=t") + std::to_string(i);
  r = put_manifest(c, "tagged", d + many, m, oci_manifest);
  CHECK(r.status == 414);
  CHECK(c.get("/v2/tagged/manifests/t0").status == 404);
}

TEST_CASE("?tag= tags on disk storage survive a restart", "[server]") {
  temp_dir dir;
  registry_options o;
  o.root = dir.path();
  std::string d;
  {
    running_registry reg(o);
    auto c = reg.client();
    const auto m = image(c, "disk", "one");
    d = sha256(m);
    REQUIRE(put_manifest(c, "disk", d + "?tag=a&tag=b", m, oci_manifest).status == 201);
  }
  running_registry again(o);
  auto c = again.client();
  CHECK(c.get("/v2/disk/tags/list").body == R"({"name":"disk","tags":["a","b"]})");
  CHECK(c.get("/v2/disk/manifests/b").header("Docker-Content-Digest") == d);
}

TEST_CASE("index children must exist", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const auto m = image(c, "multi", "amd64");
  const auto d = sha256(m);
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      d + R"(","size":)" + std::to_string(m.size()) +
      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  auto r = put_manifest(c, "multi", "v1", index, oci_index);
  CHECK(r.status == 400);
  CHECK(error_code_of(r) == "MANIFEST_BLOB_UNKNOWN");
  // The refusal names the manifest and the option that would accept it.
  CHECK(r.body.find(d) != std::string::npos);
  CHECK(r.body.find("allow_sparse_index") != std::string::npos);
  REQUIRE(put_manifest(c, "multi", d, m, oci_manifest).status == 201);
  r = put_manifest(c, "multi", "v1", index, oci_index);
  CHECK(r.status == 201);
  r = c.get("/v2/multi/manifests/v1");
  CHECK(r.header("Content-Type") == oci_index);
  CHECK(r.body == index);
}

TEST_CASE("a sparse index is accepted when allowed", "[server]") {
  registry_options o;
  o.allow_sparse_index = true;
  running_registry reg(o);
  auto c = reg.client();
  const auto present = image(c, "sparse", "amd64");
  REQUIRE(put_manifest(c, "sparse", sha256(present), present, oci_manifest).status == 201);
  // arm64's manifest was never pushed (a copy of one platform keeps the index).
  const std::string absent = R"({"schemaVersion":2,"config":{}})";
  auto entry = [](const std::string& d, std::size_t size, std::string_view arch) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d +
           R"(","size":)" + std::to_string(size) + R"(,"platform":{"architecture":")" +
           std::string(arch) + R"(","os":"linux"}})";
  };
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      entry(sha256(present), present.size(), "amd64") + "," +
      entry(sha256(absent), absent.size(), "arm64") + "]}";
  auto r = put_manifest(c, "sparse", "v1", index, oci_index);
  REQUIRE(r.status == 201);
  r = c.get("/v2/sparse/manifests/v1");
  CHECK(r.status == 200);
  CHECK(r.body == index);
  CHECK(c.get("/v2/sparse/manifests/" + sha256(absent)).status == 404);

  // An image manifest's config and layers must still be there.
  const std::string layer = "never pushed";
  const auto missing_layer =
      image_manifest_json({sha256(std::string("{}")), 2}, {{sha256(layer), layer.size()}});
  r = put_manifest(c, "sparse", "broken", missing_layer, oci_manifest);
  CHECK(r.status == 400);
  CHECK(error_code_of(r) == "MANIFEST_BLOB_UNKNOWN");
}

TEST_CASE("referrers", "[server]") {
  registry_options o;
  const bool api = GENERATE(true, false);
  o.referrers_api = api;
  running_registry reg(o);
  auto c = reg.client();
  const auto subject = image(c, "app", "subject");
  const blob_ref subject_ref{sha256(subject), subject.size()};
  REQUIRE(put_manifest(c, "app", "v1", subject, oci_manifest).status == 201);

  push_blob(c, "app", "{}");
  const blob_ref empty{sha256("{}"), 2};
  const auto sig = image_manifest_json(empty, {}, "application/vnd.example.sig", &subject_ref,
                                       R"({"org.example.kind":"signature"})",
                                       "application/vnd.oci.empty.v1+json");
  const auto sbom =
      image_manifest_json(empty, {}, {}, &subject_ref, {}, "application/vnd.example.sbom.config");
  auto r = put_manifest(c, "app", sha256(sig), sig, oci_manifest);
  REQUIRE(r.status == 201);
  CHECK(r.has_header("OCI-Subject") == api);
  if (api) CHECK(r.header("OCI-Subject") == subject_ref.digest);
  REQUIRE(put_manifest(c, "app", sha256(sbom), sbom, oci_manifest).status == 201);

  const std::string url = "/v2/app/referrers/" + subject_ref.digest;
  r = c.get(url);
  if (!api) {
    CHECK(r.status == 404);
    CHECK(r.body == "404 page not found\n");
    CHECK(r.header("Content-Type").starts_with("text/plain"));
    return;
  }
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == oci_index);
  CHECK_FALSE(r.has_header("OCI-Filters-Applied"));
  CHECK(r.body.starts_with(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"));
  CHECK(count(r.body, R"("digest":)") == 2);
  CHECK(r.body.find(R"("artifactType":"application/vnd.example.sig")") != std::string::npos);
  // No artifactType: the config's media type stands in.
  CHECK(r.body.find(R"("artifactType":"application/vnd.example.sbom.config")") !=
        std::string::npos);
  CHECK(r.body.find(R"("annotations":{"org.example.kind":"signature"})") != std::string::npos);
  CHECK(r.body.find(R"("size":)" + std::to_string(sig.size())) != std::string::npos);

  r = c.get(url + "?artifactType=application/vnd.example.sig");
  CHECK(r.status == 200);
  CHECK(r.header("OCI-Filters-Applied") == "artifactType");
  CHECK(count(r.body, R"("digest":)") == 1);
  CHECK(r.body.find(sha256(sig)) != std::string::npos);

  // Pagination (an extension): one per page, Link to the next.
  r = c.get(url + "?n=1");
  CHECK(count(r.body, R"("digest":)") == 1);
  const auto first = std::min(sha256(sig), sha256(sbom));
  const auto second = std::max(sha256(sig), sha256(sbom));
  CHECK(r.body.find(first) != std::string::npos);
  CHECK(r.header("Link") == "<" + url + "?n=1&last=" + first + ">; rel=\"next\"");
  r = c.get(url + "?n=1&last=" + first);
  CHECK(r.body.find(second) != std::string::npos);
  CHECK_FALSE(r.has_header("Link"));

  // Unknown subject, unknown repository: an empty index, never a 404.
  r = c.get("/v2/app/referrers/" + sha256("nothing"));
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("manifests":[])") != std::string::npos);
  CHECK(c.get("/v2/other/referrers/" + sha256("nothing")).status == 200);
  CHECK(c.get("/v2/app/referrers/sha256:bad").status == 400);
}

TEST_CASE("tags list and catalog pagination", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const auto m = image(c, "lib/app", "t");
  for (const char* tag : {"v3", "latest", "v1", "v2"})
    REQUIRE(put_manifest(c, "lib/app", tag, m, oci_manifest).status == 201);

  auto r = c.get("/v2/lib/app/tags/list");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"name":"lib/app","tags":["latest","v1","v2","v3"]})");
  CHECK_FALSE(r.has_header("Link"));
  r = c.get("/v2/lib/app/tags/list?n=2");
  CHECK(r.body == R"({"name":"lib/app","tags":["latest","v1"]})");
  CHECK(r.header("Link") == R"(</v2/lib/app/tags/list?n=2&last=v1>; rel="next")");
  r = c.get("/v2/lib/app/tags/list?n=2&last=v1");
  CHECK(r.body == R"({"name":"lib/app","tags":["v2","v3"]})");
  CHECK_FALSE(r.has_header("Link"));
  r = c.get("/v2/lib/app/tags/list?last=v2");
  CHECK(r.body == R"({"name":"lib/app","tags":["v3"]})");
  r = c.get("/v2/none/tags/list");
  CHECK(r.status == 404);
  CHECK(error_code_of(r) == "NAME_UNKNOWN");

  for (const char* repo : {"zeta", "alpha", "mid/dle"}) push_blob(c, repo, "x");
  r = c.get("/v2/_catalog");
  CHECK(r.body == R"({"repositories":["alpha","lib/app","mid/dle","zeta"]})");
  r = c.get("/v2/_catalog?n=3");
  CHECK(r.body == R"({"repositories":["alpha","lib/app","mid/dle"]})");
  CHECK(r.header("Link") == R"(</v2/_catalog?n=3&last=mid/dle>; rel="next")");
  r = c.get("/v2/_catalog?n=3&last=mid/dle");
  CHECK(r.body == R"({"repositories":["zeta"]})");
  CHECK_FALSE(r.has_header("Link"));
}

TEST_CASE("repository names with route words", "[server]") {
  running_registry reg;
  auto c = reg.client();
  // "blobs", "manifests" and "tags" are legal path components.
  const auto m = image(c, "a/blobs/manifests", "w");
  REQUIRE(put_manifest(c, "a/blobs/manifests", "v1", m, oci_manifest).status == 201);
  CHECK(c.get("/v2/a/blobs/manifests/manifests/v1").body == m);
  CHECK(c.get("/v2/a/blobs/manifests/tags/list").body ==
        R"({"name":"a/blobs/manifests","tags":["v1"]})");
}

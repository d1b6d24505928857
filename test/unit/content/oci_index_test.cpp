// index.json and oci-layout as pure functions (lib/content/oci_index.hpp).
#include "content/oci_index.hpp"

#include <coras/core/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using coras::content::detail::check_layout_file;
using coras::content::detail::oci_index;
using coras::content::detail::parse_oci_index;
using coras::content::detail::ref_name_of;
using coras::content::detail::render_oci_index;

namespace {

const std::string d1 = "sha256:" + std::string(64, '1');
const std::string d2 = "sha256:" + std::string(64, '2');
const std::string d3 = "sha256:" + std::string(64, '3');

std::string entry(const std::string& digest, const std::string& name = "") {
  std::string e = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                  digest + R"(","size":10)";
  if (!name.empty()) e += R"(,"annotations":{"org.opencontainers.image.ref.name":")" + name + "\"}";
  return e + "}";
}

std::string index_of(const std::vector<std::string>& entries) {
  std::string out =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) out += (i ? "," : "") + entries[i];
  return out + "]}";
}

std::vector<std::string> digests(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& d : coras::image_index::parse(text).manifests) {
    const auto* name = ref_name_of(d);
    out.push_back(d.digest.str() + (name ? "=" + *name : ""));
  }
  return out;
}

}  // namespace

TEST_CASE("oci_index: parse splits named and other entries; render lists them back",
          "[content][oci-index]") {
  struct row {
    std::string name;
    std::vector<std::string> entries;
    std::vector<std::string> named;  // digest=name, in order
    std::size_t others;
    std::vector<std::string> rendered;
  };
  const std::vector<row> rows = {
      {"1. empty", {}, {}, 0, {}},
      {"2. one named, one other", {entry(d1, "v1"), entry(d2)}, {d1 + "=v1"}, 1, {d1 + "=v1", d2}},
      {"3. a repeated name: the later entry wins, in the first one's place",
       {entry(d1, "v1"), entry(d2, "v2"), entry(d3, "v1")},
       {d3 + "=v1", d2 + "=v2"},
       0,
       {d3 + "=v1", d2 + "=v2"}},
      {"4. an other entry a name covers is kept but not listed twice",
       {entry(d1, "v1"), entry(d1)},
       {d1 + "=v1"},
       1,
       {d1 + "=v1"}},
      {"5. one digest under two names",
       {entry(d1, "a"), entry(d1, "b")},
       {d1 + "=a", d1 + "=b"},
       0,
       {d1 + "=a", d1 + "=b"}},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      auto idx = parse_oci_index(index_of(r.entries), "index.json");
      std::vector<std::string> named;
      for (const auto& d : idx.named) named.push_back(d.digest.str() + "=" + *ref_name_of(d));
      CHECK(named == r.named);
      CHECK(idx.others.size() == r.others);
      CHECK(idx.base.manifests.empty());
      CHECK(digests(render_oci_index(idx)) == r.rendered);
    }
  }
}

TEST_CASE("oci_index: an unnamed entry comes back when its last name moves away",
          "[content][oci-index]") {
  auto idx = parse_oci_index(index_of({entry(d1, "v1"), entry(d1)}), "index.json");
  CHECK(digests(render_oci_index(idx)) == std::vector<std::string>{d1 + "=v1"});
  idx.named.clear();  // the tag moved to another manifest, or was removed
  CHECK(digests(render_oci_index(idx)) == std::vector<std::string>{d1});
}

TEST_CASE("oci_index: bad documents and oci-layout files are refused", "[content][oci-index]") {
  CHECK_THROWS_WITH(parse_oci_index("{", "/x/index.json"), Catch::StartsWith("/x/index.json: "));
  CHECK_THROWS_AS(parse_oci_index(R"({"schemaVersion":2,"manifests":[{"digest":"nope"}]})", "i"),
                  coras::error);
  CHECK_NOTHROW(check_layout_file(R"({"imageLayoutVersion":"1.0.0"})"));
  const std::vector<std::string> bad = {"", "[]", R"({"imageLayoutVersion":1})",
                                        R"({"imageLayoutVersion":"2.0.0"})", "{"};
  for (const auto& text : bad) {
    INFO(text);
    CHECK_THROWS_AS(check_layout_file(text), coras::error);
  }
}

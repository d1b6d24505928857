#include "remote/protocol.hpp"

#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>

#include <catch2/catch.hpp>

#include <chrono>

#include <optional>
#include <string>
#include <vector>

using namespace coras::remote::detail;
using coras::digest;
using coras::errc;

TEST_CASE("remote: docker.io names", "[remote]") {
  CHECK(registry_host("docker.io") == "registry-1.docker.io");
  CHECK(registry_host("ghcr.io") == "ghcr.io");
  CHECK(registry_host("localhost:5000") == "localhost:5000");
  CHECK(hub_repository("docker.io", "alpine") == "library/alpine");
  CHECK(hub_repository("docker.io", "bitnami/redis") == "bitnami/redis");
  CHECK(hub_repository("ghcr.io", "alpine") == "alpine");
}

TEST_CASE("remote: Link pagination stays on the origin", "[remote][link]") {
  const std::string req = "https://r.example/v2/a/tags/list?n=2";
  auto none = next_page(req, std::nullopt);
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());

  auto rel = next_page(req, std::string_view(R"(</v2/a/tags/list?n=2&last=b>; rel="next")"));
  REQUIRE(rel.has_value());
  CHECK(**rel == "https://r.example/v2/a/tags/list?n=2&last=b");

  auto abs =
      next_page(req, std::string_view("<https://r.example/v2/a/tags/list?last=c>; rel=\"next\""));
  CHECK(**abs == "https://r.example/v2/a/tags/list?last=c");

  std::string why;
  CHECK_FALSE(
      next_page(req, std::string_view("<https://evil.example/v2/a/tags/list>"), &why).has_value());
  CHECK_THAT(why, Catch::Contains("another origin"));
  CHECK_FALSE(next_page(req, std::string_view("<http://r.example/v2/x>"), &why).has_value());
  CHECK_FALSE(next_page(req, std::string_view("<https://r.example:444/v2/x>"), &why).has_value());
  CHECK_FALSE(next_page(req, std::string_view("/v2/a/tags/list"), &why).has_value());
  CHECK_THAT(why, Catch::Contains("missing '<'"));
  CHECK_FALSE(next_page(req, std::string_view("</v2/a/tags/list"), &why).has_value());
  CHECK_THAT(why, Catch::Contains("missing '>'"));
}

TEST_CASE("remote: upload Location rules (GHSA-jxpm-75mh-9fp7, port 443)", "[remote][upload]") {
  const std::string post = "https://r.example/v2/a/blobs/uploads/";
  CHECK(*upload_location(post, "/v2/a/blobs/uploads/u1?_state=x") ==
        "https://r.example/v2/a/blobs/uploads/u1?_state=x");
  CHECK(*upload_location(post, "https://r.example/v2/a/blobs/uploads/u2") ==
        "https://r.example/v2/a/blobs/uploads/u2");
  // The seed's work-around: ":443" on the request, none on the Location.
  CHECK(upload_location("https://r.example:443/v2/a/blobs/uploads/", "https://r.example/v2/a/u3")
            .has_value());
  CHECK(upload_location("http://r.example/v2/a/blobs/uploads/", "https://r.example/v2/a/u4")
            .has_value());

  std::string why;
  CHECK_FALSE(upload_location(post, "https://attacker.example/v2/a/u", &why).has_value());
  CHECK_THAT(why, Catch::Contains("another origin"));
  CHECK_FALSE(upload_location(post, "http://r.example/v2/a/u", &why).has_value());
  CHECK_FALSE(upload_location(post, "https://r.example:8443/v2/a/u", &why).has_value());
  CHECK_FALSE(upload_location(post, "", &why).has_value());
}

namespace {

// One row of manifest_descriptor's truth table (lib/remote/protocol.hpp),
// named as oras-go names its rows (registry/remote/repository_test.go).
enum class client_ref { tag, body_digest, other_digest };
enum class server_header { missing, valid, malformed };
struct descriptor_row {
  std::string name;
  std::string method;
  client_ref reference;
  server_header header;
  bool needs_body_digest;
  // The expected outcome: the body's digest (with the response's size and
  // type), or a failure with this code (when set) and this text in `why`
  // (when not empty).
  bool ok;
  std::optional<errc> code = {};
  std::string why = {};
  bool drop_content_length = false;
  bool drop_content_type = false;
};

}  // namespace

TEST_CASE("remote: the seed's generateDescriptor truth table", "[remote][descriptor]") {
  const auto body = digest::of("{\"schemaVersion\":2}");
  const auto other = digest::of("other");
  using enum client_ref;
  using enum server_header;
  const std::vector<descriptor_row> rows = {
      {"1. HEAD Client:Tag & Server:DigestMissing",
       "HEAD",
       tag,
       missing,
       false,
       false,
       {},
       "missing required header"},
      {"2. HEAD Client:Digest & Server:DigestMissing", "HEAD", body_digest, missing, false, true},
      {"3. GET Client:Tag & Server:DigestMissing", "GET", tag, missing, true, true},
      {"4. GET Client:Digest & Server:DigestMissing", "GET", body_digest, missing, true, true},
      {"5. GET Client:DigestWrong & Server:DigestMissing", "GET", other_digest, missing, true,
       false, errc::digest_mismatch},
      {"6. HEAD Client:Tag & Server:DigestValid", "HEAD", tag, valid, false, true},
      {"7. HEAD Client:Digest & Server:DigestValid", "HEAD", body_digest, valid, false, true},
      {"8. HEAD Client:DigestWrong & Server:DigestValid", "HEAD", other_digest, valid, false, false,
       errc::digest_mismatch},
      {"9. HEAD Client:Tag & Server:DigestMalformed", "HEAD", tag, malformed, false, false,
       errc::invalid_response},
      {"10. GET Client:Tag & Server:DigestValid", "GET", tag, valid, false, true},
      {"11. GET Client:Digest & Server:DigestValid", "GET", body_digest, valid, false, true},
      {"12. GET Client:DigestWrong & Server:DigestValid", "GET", other_digest, valid, false, false,
       errc::digest_mismatch},
      {"13. GET Client:Tag & Server:DigestMalformed", "GET", tag, malformed, false, false,
       errc::invalid_response},
      {"14. GET Client:Tag & Server:DigestValid, no Content-Length",
       "GET",
       tag,
       valid,
       false,
       false,
       {},
       "unknown response Content-Length",
       true},
      {"15. GET Client:Tag & Server:DigestValid, no Content-Type",
       "GET",
       tag,
       valid,
       false,
       false,
       {},
       "Content-Type",
       false,
       true},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      // manifest_response views its strings: the header value is kept here.
      const std::string header = row.header == missing     ? ""
                                 : row.header == malformed ? "sha256:nothex"
                                                           : body.str();
      manifest_response resp{row.method, "application/vnd.oci.image.manifest.v1+json", 19, header};
      if (row.drop_content_length) resp.content_length.reset();
      if (row.drop_content_type) resp.content_type = "";
      const digest* reference = row.reference == tag           ? nullptr
                                : row.reference == body_digest ? &body
                                                               : &other;
      CHECK(needs_body_digest(resp) == row.needs_body_digest);
      std::string why;
      auto got =
          manifest_descriptor(resp, reference, row.needs_body_digest ? &body : nullptr, &why);
      if (row.ok) {
        REQUIRE(got.has_value());
        // Digest from the table; size and type from the response.
        CHECK(got->digest == body);
        CHECK(got->size == 19);
        CHECK(got->media_type == "application/vnd.oci.image.manifest.v1+json");
      } else {
        REQUIRE_FALSE(got.has_value());
        if (row.code) CHECK(got.error() == *row.code);
        if (!row.why.empty()) CHECK_THAT(why, Catch::Contains(row.why));
      }
    }
  }
}

TEST_CASE("remote: the referrers tag schema's tag", "[remote][referrers]") {
  auto d = digest::of("x");
  CHECK(referrers_tag(d) == "sha256-" + std::string(d.hex()));
  // sha512's 128 hex digits are cut to 64, as the distribution spec says.
  auto long_one = digest::of("x", coras::digest_algorithm::sha512);
  CHECK(referrers_tag(long_one) == "sha512-" + std::string(long_one.hex().substr(0, 64)));
  CHECK(coras::check_tag(referrers_tag(long_one)).empty());
}

TEST_CASE("remote: applying referrer changes", "[remote][referrers]") {
  auto entry = [](std::string_view content, std::string type = "a/b") {
    auto d = coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json", content);
    d.artifact_type = std::move(type);
    return d;
  };
  const auto a = entry("a"), b = entry("b"), c = entry("c");
  using list = std::vector<coras::descriptor>;

  // Adds keep order and skip entries already there.
  CHECK(*apply_referrer_changes({}, {{a, true}, {b, true}, {a, true}}) == list{a, b});
  // Nothing changes: no rewrite.
  CHECK_FALSE(apply_referrer_changes({a, b}, {{a, true}}).has_value());
  CHECK_FALSE(apply_referrer_changes({a, b}, {{c, false}}).has_value());
  CHECK_FALSE(apply_referrer_changes({a}, {{b, true}, {b, false}}).has_value());
  // Removal, and add-after-remove in one batch.
  CHECK(*apply_referrer_changes({a, b, c}, {{b, false}}) == list{a, c});
  // Removed and added back in one batch: the same set, so no rewrite (as the seed).
  CHECK_FALSE(apply_referrer_changes({a, b}, {{a, false}, {a, true}}).has_value());
  CHECK(*apply_referrer_changes({a, b}, {{a, false}, {c, true}, {a, true}}) == list{b, c, a});
  CHECK(apply_referrer_changes({a}, {{a, false}})->empty());
  // Entries are the same by media type, digest and size, whatever the annotations.
  auto a2 = a;
  a2.annotations["k"] = "v";
  CHECK_FALSE(apply_referrer_changes({a}, {{a2, true}}).has_value());
  // Duplicate and empty entries in the old index are dropped, which is a change.
  CHECK(*apply_referrer_changes({a, a, coras::descriptor{}, b}, {}) == list{a, b});
}

TEST_CASE("remote: applying referrer changes to a huge index takes linear time",
          "[remote][referrers][security]") {
  // A registry's referrers index may list many entries; looking each one up
  // in the list built so far was quadratic (50,000 entries: about 10^9
  // comparisons, 217 s on the development machine; linear: well under a second).
  const std::size_t n = 50'000;
  std::vector<coras::descriptor> old;
  old.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    old.push_back(coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json",
                                                 std::to_string(i)));
  std::vector<referrer_change> changes;
  for (std::size_t i = 0; i < n; i += 2) changes.push_back({old[i], false});
  for (std::size_t i = 0; i < n; i += 4) changes.push_back({old[i], true});
  changes.push_back(
      {coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json", "new"), true});
  const auto start = std::chrono::steady_clock::now();
  auto result = apply_referrer_changes(old, changes);
  auto again = apply_referrer_changes(old, {});
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(result);
  CHECK(result->size() == n / 2 + n / 4 + 1);
  CHECK((*result)[0] == old[1]);  // the kept ones first, in order, then the re-added
  CHECK(result->back().digest != old[0].digest);
  CHECK_FALSE(again);
  CHECK(took < std::chrono::seconds(10));  // room for sanitizer builds
}

TEST_CASE("remote: whether a referrers index read back holds an update", "[remote][referrers]") {
  auto entry = [](std::string_view content) {
    return coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json", content);
  };
  const auto a = entry("a"), b = entry("b"), c = entry("c");

  // Added ones listed, removed ones not: holds, whatever else is listed.
  CHECK(referrer_changes_hold({a, b}, {{a, true}}));
  CHECK(referrer_changes_hold({c, a, b}, {{a, true}, {b, true}}));
  CHECK(referrer_changes_hold({a}, {{b, false}}));
  CHECK(referrer_changes_hold({}, {{b, false}}));
  CHECK(referrer_changes_hold({}, {}));
  // Another writer's index without ours, or with one we removed: does not hold.
  CHECK_FALSE(referrer_changes_hold({b}, {{a, true}}));
  CHECK_FALSE(referrer_changes_hold({}, {{a, true}}));
  CHECK_FALSE(referrer_changes_hold({a, b}, {{a, true}, {c, true}}));
  CHECK_FALSE(referrer_changes_hold({a, b}, {{b, false}}));
  // The last change of a referrer decides; a listed duplicate counts once.
  CHECK(referrer_changes_hold({b}, {{a, true}, {a, false}, {b, true}}));
  CHECK_FALSE(referrer_changes_hold({a, b}, {{a, true}, {a, false}}));
  CHECK(referrer_changes_hold({a, a}, {{a, true}}));
  CHECK_FALSE(referrer_changes_hold({a, a}, {{a, true}, {b, true}}));
  // Same by media type, digest and size: another size is another entry.
  auto a_size = a;
  a_size.size += 1;
  CHECK_FALSE(referrer_changes_hold({a_size}, {{a, true}}));
  auto a_annotated = a;
  a_annotated.annotations["k"] = "v";
  CHECK(referrer_changes_hold({a_annotated}, {{a, true}}));
}

TEST_CASE("remote: pauses of the referrers index read-back and retries", "[remote][referrers]") {
  using std::chrono::milliseconds;
  // Read-back: one to two times the longer of the base and the time taken.
  CHECK(referrers_settle_pause(milliseconds(50), milliseconds(3), 0.0) == milliseconds(50));
  CHECK(referrers_settle_pause(milliseconds(50), milliseconds(3), 1.0) == milliseconds(100));
  CHECK(referrers_settle_pause(milliseconds(50), milliseconds(300), 0.5) == milliseconds(450));
  CHECK(referrers_settle_pause(milliseconds(0), milliseconds(0), 1.0) == milliseconds(0));
  // At most 10 s, whatever the inputs (random01 clamped).
  CHECK(referrers_settle_pause(milliseconds(50), milliseconds(3'600'000), 1.0) ==
        milliseconds(10'000));
  CHECK(referrers_settle_pause(milliseconds(50), milliseconds(3), 7.0) == milliseconds(100));
  CHECK(referrers_settle_pause(milliseconds(-5), milliseconds(-5), 0.5) == milliseconds(0));
  // Retry n: 0 to min(base * 2^n, 2 s).
  CHECK(referrers_retry_pause(milliseconds(50), 1, 1.0) == milliseconds(100));
  CHECK(referrers_retry_pause(milliseconds(50), 3, 0.5) == milliseconds(200));
  CHECK(referrers_retry_pause(milliseconds(50), 1, 0.0) == milliseconds(0));
  CHECK(referrers_retry_pause(milliseconds(50), 6, 1.0) == milliseconds(2'000));
  CHECK(referrers_retry_pause(milliseconds(50), 1'000'000, 1.0) == milliseconds(2'000));
  CHECK(referrers_retry_pause(milliseconds(0), 5, 1.0) == milliseconds(0));
}

TEST_CASE("remote: referrers filters", "[remote][referrers]") {
  CHECK(filter_applied("artifactType", "artifactType"));
  CHECK(filter_applied("annotation, artifactType", "artifactType"));
  CHECK_FALSE(filter_applied("", "artifactType"));
  CHECK_FALSE(filter_applied("artifactTypes", "artifactType"));
  coras::descriptor x, y;
  x.artifact_type = "t/x";
  y.artifact_type = "t/y";
  CHECK(filter_referrers({x, y}, "t/y") == std::vector<coras::descriptor>{y});
  CHECK(filter_referrers({x, y}, "").size() == 2);
}

TEST_CASE("remote: digest-algorithm= for an upload POST", "[remote][upload]") {
  CHECK(digest_algorithm_query(coras::digest_algorithm::sha256).empty());
  CHECK(digest_algorithm_query(coras::digest_algorithm::sha512) == "?digest-algorithm=sha512");
}

TEST_CASE("remote: ?tag= query and OCI-Tag headers", "[remote][tags]") {
  CHECK(tag_query({}).empty());
  CHECK(tag_query({"v1"}) == "?tag=v1");
  CHECK(tag_query({"1.2.3", "1.2", "latest"}) == "?tag=1.2.3&tag=1.2&tag=latest");
  CHECK(tag_query({"a_b-c.d"}) == "?tag=a_b-c.d");

  struct row {
    const char* name;
    std::vector<std::string_view> headers;
    std::vector<std::string> tags;
  };
  const std::vector<row> rows = {
      {"none", {}, {}},
      {"one header, one tag", {"v1"}, {"v1"}},
      {"a header per tag", {"a", "b"}, {"a", "b"}},
      {"the spec's example", {"1.2.3, 1.2, 1", "latest"}, {"1.2.3", "1.2", "1", "latest"}},
      {"spaces and tabs trimmed", {" \ta ,\tb "}, {"a", "b"}},
      {"empty elements dropped", {",a,,b,", ""}, {"a", "b"}},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(oci_tags(r.headers) == r.tags);
  }
}

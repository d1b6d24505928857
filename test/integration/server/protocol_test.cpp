// The registry's pure protocol functions (lib/server/protocol.hpp, auth.hpp):
// routing, header grammars, pagination, scopes and manifest checks.
#include "server/protocol.hpp"
#include "server/auth.hpp"

#include <catch2/catch.hpp>

using namespace coras::server::detail;

TEST_CASE("routes", "[server][protocol]") {
  auto r = parse_route("/v2/");
  CHECK(r.kind == route_kind::base);
  CHECK(parse_route("/v2").kind == route_kind::base);
  CHECK(parse_route("/v2/_catalog").kind == route_kind::catalog);
  CHECK(parse_route("/token").kind == route_kind::token);
  CHECK(parse_route("/v1/").kind == route_kind::not_found);
  CHECK(parse_route("/v2/a").kind == route_kind::not_found);

  r = parse_route("/v2/a/b/c/manifests/v1");
  CHECK(r.kind == route_kind::manifest);
  CHECK(r.name == "a/b/c");
  CHECK(r.reference == "v1");
  CHECK(r.name_problem.empty());

  r = parse_route("/v2/x/blobs/uploads/");
  CHECK(r.kind == route_kind::upload_start);
  CHECK(r.name == "x");
  CHECK(parse_route("/v2/x/blobs/uploads").kind == route_kind::upload_start);
  r = parse_route("/v2/x/blobs/uploads/1234");
  CHECK(r.kind == route_kind::upload);
  CHECK(r.reference == "1234");
  r = parse_route("/v2/x/blobs/sha256:ab");
  CHECK(r.kind == route_kind::blob);
  CHECK(r.reference == "sha256:ab");
  r = parse_route("/v2/x/referrers/sha256:ab");
  CHECK(r.kind == route_kind::referrers);
  r = parse_route("/v2/x/y/tags/list");
  CHECK(r.kind == route_kind::tags_list);
  CHECK(r.name == "x/y");

  // The last marker wins: route words are legal repository components.
  r = parse_route("/v2/a/manifests/b/blobs/sha256:ab");
  CHECK(r.kind == route_kind::blob);
  CHECK(r.name == "a/manifests/b");
  r = parse_route("/v2/a/blobs/b/manifests/v1");
  CHECK(r.kind == route_kind::manifest);
  CHECK(r.name == "a/blobs/b");

  CHECK(parse_route("/v2/x/manifests/").kind == route_kind::not_found);
  CHECK(parse_route("/v2/x/manifests/a/b").kind == route_kind::not_found);
  CHECK(parse_route("/v2//manifests/v1").kind == route_kind::not_found);
  r = parse_route("/v2/UP/manifests/v1");
  CHECK(r.kind == route_kind::manifest);
  CHECK_FALSE(r.name_problem.empty());
}

TEST_CASE("Range header", "[server][protocol]") {
  byte_range b;
  CHECK(parse_range("bytes=0-9", 100, b) == range_result::partial);
  CHECK((b.first == 0 && b.last == 9));
  CHECK(parse_range("bytes=90-", 100, b) == range_result::partial);
  CHECK((b.first == 90 && b.last == 99));
  CHECK(parse_range("bytes=90-500", 100, b) == range_result::partial);
  CHECK(b.last == 99);
  CHECK(parse_range("bytes=-10", 100, b) == range_result::partial);
  CHECK((b.first == 90 && b.last == 99));
  CHECK(parse_range("bytes=-500", 100, b) == range_result::partial);
  CHECK(b.first == 0);
  CHECK(parse_range("BYTES=1-1", 100, b) == range_result::partial);
  CHECK(parse_range("bytes=100-", 100, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=-0", 100, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=0-", 0, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=5-1", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=1-2,4-5", 100, b) == range_result::whole);
  CHECK(parse_range("items=1-2", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=a-b", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=99999999999999999999-", 100, b) == range_result::whole);
}

TEST_CASE("Content-Range of PATCH", "[server][protocol]") {
  auto r = parse_content_range("0-99");
  REQUIRE(r);
  CHECK((r->first == 0 && r->last == 99));
  r = parse_content_range("bytes 100-199/*");
  REQUIRE(r);
  CHECK(r->first == 100);
  CHECK_FALSE(parse_content_range("5-1"));
  CHECK_FALSE(parse_content_range("x"));
  CHECK_FALSE(parse_content_range("-5"));
}

TEST_CASE("pagination and Link", "[server][protocol]") {
  const std::vector<std::string> list{"a", "b", "c", "d"};
  auto p = paginate(list, std::nullopt, "");
  CHECK((p.begin == 0 && p.end == 4 && !p.more));
  p = paginate(list, 2, "");
  CHECK((p.begin == 0 && p.end == 2 && p.more));
  p = paginate(list, 2, "b");
  CHECK((p.begin == 2 && p.end == 4 && !p.more));
  p = paginate(list, 2, "bb");
  CHECK((p.begin == 2 && p.end == 4));
  p = paginate(list, 0, "");
  CHECK((p.begin == 0 && p.end == 0 && !p.more));
  p = paginate(list, 10, "z");
  CHECK((p.begin == 4 && p.end == 4 && !p.more));
  CHECK(next_link("/v2/a/tags/list", 2, "b") == R"(</v2/a/tags/list?n=2&last=b>; rel="next")");
  CHECK(next_link("/v2/a/referrers/sha256:x", 1, "sha256:y", "a/b+c") ==
        R"(</v2/a/referrers/sha256:x?n=1&last=sha256:y&artifactType=a/b%2Bc>; rel="next")");
}

TEST_CASE("scopes and tokens", "[server][protocol]") {
  auto s = parse_scope("repository:lib/app:push,pull");
  REQUIRE(s);
  CHECK(s->type == "repository");
  CHECK(s->name == "lib/app");
  CHECK(s->str() == "repository:lib/app:pull,push");
  s = parse_scope("repository:localhost:5000/app:pull");  // the name keeps its colon
  REQUIRE(s);
  CHECK(s->name == "localhost:5000/app");
  CHECK_FALSE(parse_scope("repository"));
  CHECK_FALSE(parse_scope("repository:app"));
  CHECK(parse_scopes("repository:a:pull repository:b:push bad").size() == 2);

  token_store tokens;
  const auto now = clock::now();
  const auto t = tokens.issue({*parse_scope("repository:a:pull")}, now, std::chrono::seconds(10));
  CHECK(tokens.valid(t, now));
  CHECK(tokens.allows(t, "repository", "a", "pull", now));
  CHECK_FALSE(tokens.allows(t, "repository", "a", "push", now));
  CHECK_FALSE(tokens.allows(t, "repository", "b", "pull", now));
  CHECK_FALSE(tokens.valid(t, now + std::chrono::seconds(11)));
  const auto star =
      tokens.issue({*parse_scope("registry:catalog:*")}, now, std::chrono::seconds(10));
  CHECK(tokens.allows(star, "registry", "catalog", "*", now));
  CHECK_FALSE(tokens.valid("unknown", now));
}

TEST_CASE("basic credentials", "[server][protocol]") {
  auto c = parse_basic("Basic dXNlcjpwYTpzcw==");  // user:pa:ss
  REQUIRE(c);
  CHECK(c->username == "user");
  CHECK(c->password == "pa:ss");
  CHECK(parse_basic("basic dXNlcjpwYTpzcw=="));
  CHECK_FALSE(parse_basic("Bearer abc"));
  CHECK_FALSE(parse_basic("Basic !!!"));
  CHECK(parse_bearer("Bearer tok") == "tok");
  CHECK(parse_bearer("Basic tok").empty());
}

TEST_CASE("manifest analysis", "[server][protocol]") {
  const std::string config = "sha256:" + std::string(64, 'a');
  const std::string layer = "sha256:" + std::string(64, 'b');
  const std::string m =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example.config","digest":")" +
      config +
      R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      layer + R"(","size":3},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      config + R"(","size":2,"urls":["https://example.com/x"]}]})";
  std::string why;
  auto f = analyze_manifest("application/vnd.oci.image.manifest.v1+json; charset=utf-8", m, &why);
  REQUIRE(f.has_value());
  CHECK(f->media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(f->artifact_type == "application/vnd.example.config");
  CHECK(f->blobs.size() == 2);  // the foreign layer is not required
  CHECK(analyze_manifest("", m, &why).has_value());
  CHECK_FALSE(analyze_manifest("application/vnd.oci.image.index.v1+json", m, &why).has_value());
  CHECK(why.find("does not match") != std::string::npos);
  CHECK_FALSE(analyze_manifest("", "[]", &why).has_value());
  CHECK_FALSE(
      analyze_manifest("application/vnd.oci.image.manifest.v1+json", R"({"schemaVersion":2})", &why)
          .has_value());
}

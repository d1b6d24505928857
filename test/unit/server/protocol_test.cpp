// The registry's pure protocol functions (lib/server/protocol.hpp, auth.hpp):
// routing, pagination, scopes, credentials, manifest checks and the response
// head. The header grammars it shares with the client are tested in
// test/unit/http/grammar_test.cpp.
#include "server/protocol.hpp"
#include "server/auth.hpp"
#include "server/limits.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

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

TEST_CASE("manifest PUT: ?tag= parameters", "[server][protocol]") {
  struct row {
    const char* name;
    std::string query;
    std::vector<std::string> tags;  // when accepted
    std::string problem;            // when refused: part of the reason
  };
  std::string many;
  for (int i = 0; i <= 100; ++i) many += "tag=t" + std::to_string(i) + "&";
  const std::vector<row> rows = {
      {"none", "", {}, ""},
      {"other parameters only", "n=1&x=y", {}, ""},
      {"one", "tag=v1", {"v1"}, ""},
      {"several, in order",
       "tag=1.2.3&tag=1.2&tag=1&tag=latest",
       {"1.2.3", "1.2", "1", "latest"},
       ""},
      {"repeated once", "tag=a&tag=b&tag=a", {"a", "b"}, ""},
      {"percent-encoded", "tag=v%31", {"v1"}, ""},
      {"mixed with others", "foo=bar&tag=x", {"x"}, ""},
      {"empty", "tag=", {}, "tag parameter \"\""},
      {"bad first character", "tag=.hidden", {}, "tag parameter \".hidden\""},
      {"slash", "tag=a/b", {}, "tag parameter \"a/b\""},
      {"too long", "tag=" + std::string(129, 'a'), {}, "tag parameter"},
      {"101 tags", many, {}, "more than 100 tag parameters"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    const std::string target = "/v2/x/manifests/sha256:00?" + r.query;  // the view's buffer
    auto url = boost::urls::parse_origin_form(target);
    REQUIRE(url);
    std::string why;
    auto tags = put_tags(url->params(), &why);
    if (r.problem.empty()) {
      REQUIRE(tags.has_value());
      CHECK(*tags == r.tags);
    } else {
      REQUIRE_FALSE(tags.has_value());
      CHECK_THAT(why, Catch::Contains(r.problem));
    }
  }
  // Exactly the limit is fine.
  std::string hundred;
  for (std::size_t i = 0; i < max_put_tags; ++i) hundred += "tag=t" + std::to_string(i) + "&";
  const std::string target = "/v2/x/manifests/sha256:00?" + hundred;
  auto url = boost::urls::parse_origin_form(target);
  REQUIRE(url);
  auto tags = put_tags(url->params(), nullptr);
  REQUIRE(tags.has_value());
  CHECK(tags->size() == max_put_tags);
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

TEST_CASE("tokens are signed, carry their expiry and cost no memory", "[server][protocol]") {
  const token_store tokens(std::string(32, 'k'));
  const auto now = clock::now();
  const auto t =
      tokens.issue({*parse_scope("repository:a/b:pull,push")}, now, std::chrono::seconds(10));
  CHECK(tokens.allows(t, "repository", "a/b", "push", now + std::chrono::seconds(9)));
  CHECK_FALSE(tokens.valid(t, now + std::chrono::seconds(10)));  // expiry is signed in
  // Another key (another process) does not accept it.
  CHECK_FALSE(token_store(std::string(32, 'x')).valid(t, now));
  CHECK_FALSE(token_store().valid(t, now));
  // Any change to the payload or the MAC breaks it.
  const auto dot = t.rfind('.');
  for (std::size_t i : {std::size_t{0}, dot / 2, dot - 1, dot + 1, t.size() - 1}) {
    auto bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    CHECK_FALSE(tokens.valid(bad, now));
  }
  CHECK_FALSE(tokens.valid(t.substr(0, dot), now));
  CHECK_FALSE(tokens.valid(t + "0", now));
  // A refresh token is no access token and the other way round.
  const auto r = tokens.issue_refresh("alice", now, std::chrono::hours(1));
  CHECK(tokens.refresh_user(r, now) == "alice");
  CHECK_FALSE(tokens.valid(r, now));
  CHECK_FALSE(tokens.refresh_user(t, now));
  CHECK_FALSE(tokens.refresh_user(r, now + std::chrono::hours(1)));  // refresh tokens expire
  // Absurd lifetimes are clamped, never overflow.
  const auto forever = tokens.issue({}, now, std::chrono::seconds::max());
  CHECK(tokens.valid(forever, now + std::chrono::hours(24 * 365)));
  CHECK_FALSE(tokens.valid(tokens.issue({}, now, std::chrono::seconds(-5)), now));
}

TEST_CASE("secrets compare in constant time", "[server][protocol]") {
  CHECK(same_secret("", ""));
  CHECK(same_secret("hunter2", "hunter2"));
  CHECK_FALSE(same_secret("hunter2", "hunter3"));
  CHECK_FALSE(same_secret("hunter2", "hunter"));
  CHECK_FALSE(same_secret("hunter2", std::string_view("hunter2\0", 8)));
  CHECK(same_credentials("u", "p", "u", "p"));
  CHECK_FALSE(same_credentials("u", "x", "u", "p"));
  CHECK_FALSE(same_credentials("x", "p", "u", "p"));
  CHECK_FALSE(same_credentials("up", "", "u", "p"));
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

namespace {

struct head_row {
  const char* name;
  reply r;
  bool keep_alive = true;
  bool send_body = true;
  bool chunked = false;
  std::string want;
};

reply with_text(unsigned status, std::string text) {
  reply r;
  r.status = status;
  r.text = std::move(text);
  r.set("Content-Type", "text/plain");
  return r;
}

reply with_fault(reply r, coras::server::header_fault f) {
  r.header_edits = std::move(f);
  return r;
}

}  // namespace

TEST_CASE("response head", "[server][protocol]") {
  coras::server::header_fault drop_type;
  drop_type.remove = {"content-type", "Content-Length", "Connection"};
  coras::server::header_fault replace_type;
  replace_type.set = {{"Content-Type", "x/y"}, {"Transfer-Encoding", "gzip"}};
  coras::server::header_fault unknown_length;
  unknown_length.unknown_length = true;

  const std::vector<head_row> rows = {
      {"a body with its length", with_text(200, "hi"), true, true, false,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n"},
      {"closing the connection", with_text(404, ""), false, true, false,
       "HTTP/1.1 404 Not Found\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
      {"204 has no length", with_text(204, ""), true, false, false,
       "HTTP/1.1 204 No Content\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Type: text/plain\r\n\r\n"},
      {"a header fault drops headers, framing ones excepted",
       with_fault(with_text(200, "hi"), drop_type), true, true, false,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Length: 2\r\n\r\n"},
      {"on a HEAD, Content-Length is an ordinary header",
       with_fault(with_text(200, "hi"), drop_type), true, false, false,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n\r\n"},
      {"a header fault replaces headers, framing ones excepted",
       with_fault(with_text(200, "hi"), replace_type), true, true, false,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Length: 2\r\nContent-Type: x/y\r\n\r\n"},
      {"unknown length: one chunk", with_fault(with_text(200, "hello world!!!!!"), unknown_length),
       true, true, true,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"},
      {"unknown length on a HEAD: no length at all",
       with_fault(with_text(200, "hi"), unknown_length), true, false, false,
       "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
       "Content-Type: text/plain\r\n\r\n"},
  };
  const std::map<unsigned, std::string_view> reasons{
      {200, "OK"}, {204, "No Content"}, {404, "Not Found"}};
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      std::string out = "left over";
      render_head(out, row.r, reasons.at(row.r.status), row.keep_alive, row.send_body, row.chunked);
      CHECK(out == row.want);
    }
  }
}

TEST_CASE("header fault: protected headers", "[server][protocol]") {
  CHECK(is_protected("connection", false));
  CHECK(is_protected("Content-Length", true));
  CHECK(is_protected("transfer-encoding", true));
  CHECK_FALSE(is_protected("Content-Length", false));
  CHECK_FALSE(is_protected("Content-Type", true));
}

TEST_CASE("upload quotas and expiry", "[server][protocol]") {
  coras::server::registry_options o;
  o.max_upload_sessions = 3;
  o.max_upload_sessions_per_repository = 2;
  o.max_upload_bytes = 100;
  o.max_upload_bytes_per_repository = 60;
  o.upload_idle_timeout = std::chrono::seconds(5);
  const auto l = upload_limits::of(o);
  CHECK(check_upload_quota({}, {}, l, 1, 0) == upload_limit::none);
  CHECK(check_upload_quota({2, 0}, {1, 0}, l, 1, 0) == upload_limit::none);
  CHECK(check_upload_quota({3, 0}, {0, 0}, l, 1, 0) == upload_limit::sessions);
  CHECK(check_upload_quota({2, 0}, {2, 0}, l, 1, 0) == upload_limit::sessions_per_repository);
  // Bytes: exactly the limit fits, one more does not; huge requests never wrap.
  CHECK(check_upload_quota({1, 40}, {1, 40}, l, 0, 20) == upload_limit::none);
  CHECK(check_upload_quota({1, 40}, {1, 40}, l, 0, 21) == upload_limit::bytes_per_repository);
  CHECK(check_upload_quota({1, 90}, {1, 0}, l, 0, 11) == upload_limit::bytes);
  CHECK(check_upload_quota({1, 90}, {1, 0}, l, 0, ~std::uint64_t{0}) == upload_limit::bytes);
  CHECK(check_upload_quota({1, 0}, {1, 0}, l, 0, ~std::uint64_t{0} - 5) == upload_limit::bytes);
  // A session start checks sessions only; a chunk checks bytes only.
  CHECK(check_upload_quota({1, 100}, {1, 60}, l, 1, 0) == upload_limit::none);
  CHECK(check_upload_quota({3, 0}, {2, 0}, l, 0, 1) == upload_limit::none);

  CHECK(describe(upload_limit::sessions, l) ==
        "upload session limit (registry_options::max_upload_sessions = 3) reached");
  CHECK(describe(upload_limit::bytes_per_repository, l) ==
        "upload byte limit per repository (registry_options::max_upload_bytes_per_repository = "
        "60) reached");

  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(upload_expired(t0, t0, l.idle_timeout));
  CHECK_FALSE(upload_expired(t0, t0 + std::chrono::milliseconds(4999), l.idle_timeout));
  CHECK(upload_expired(t0, t0 + std::chrono::seconds(5), l.idle_timeout));
  CHECK_FALSE(upload_expired(t0 + std::chrono::seconds(1), t0, l.idle_timeout));  // used "later"
}

// Found by fuzz/dispatcher.cpp: a detail quoting a client's bytes (a
// malformed digest) put invalid UTF-8 into the error body, which UTF-8
// checking JSON parsers, coras's own among them, refuse.
TEST_CASE("error bodies are valid UTF-8 whatever the detail quotes", "[server][protocol][fuzz]") {
  const std::string bad = "digest \"sha256:ab\xff\xfe\xc3\" and \xed\xa0\x80 \xf4\x90\x80\x80 end";
  const auto body = error_body(coras::registry_errc::digest_invalid, {}, bad);
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  REQUIRE_FALSE(ec);
  const auto detail = std::string(v.at("errors").as_array().at(0).at("detail").as_string());
  CHECK(detail.find("\xef\xbf\xbd") != std::string::npos);
  CHECK(detail.starts_with("digest \"sha256:ab"));
  CHECK(detail.ends_with(" end"));
  // Well-formed UTF-8 is kept as it is.
  const auto ok =
      error_body(coras::registry_errc::name_invalid, {}, "caf\xc3\xa9 \xf0\x9f\x90\xb3");
  CHECK(boost::json::parse(ok).at("errors").as_array().at(0).at("detail").as_string() ==
        "caf\xc3\xa9 \xf0\x9f\x90\xb3");
}

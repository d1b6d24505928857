// The registry's dispatcher without sockets (lib/server/handler.hpp): request
// heads and bodies go in the way registry.cpp feeds them, and the `reply` that
// comes out is checked. Each row is a short flow on a fresh in-memory
// registry; a step is one request and what its reply must say.
#include "server/handler.hpp"

#include <coras/core/digest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/fields.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The rows name only the fields they care about (designated initializers);
// GCC before 14 warns about the fields left to their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace coras::server::detail;
using coras::digest;
using coras::server::registry_options;

namespace {

constexpr std::string_view absent = "<absent>";
constexpr std::string_view any = "<any>";

struct request {
  verb method = verb::get;
  std::string target;  // "{location}" is replaced by the previous reply's Location
  std::string authorization;
  std::string content_type;
  std::string content_range;
  std::string range;
  std::string body;
};

struct expect {
  unsigned status = 200;
  std::string code;  // the first distribution error code of a JSON error body
  // Header values the reply must have: `absent`, `any` or the exact value.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;
  bool head_only = false;
  std::optional<std::uint64_t> length;  // the body's size (announced on HEAD)
  std::string text_has;                 // words the reply's text must contain
};

struct step {
  request rq;
  expect want;
};

struct row {
  const char* name;
  std::vector<step> steps;
  registry_options options = {};
};

std::string_view method_name(verb v) {
  switch (v) {
    case verb::get: return "GET";
    case verb::head: return "HEAD";
    case verb::post: return "POST";
    case verb::put: return "PUT";
    case verb::patch: return "PATCH";
    case verb::delete_: return "DELETE";
    case verb::other: break;
  }
  return "OPTIONS";
}

std::string header_of(const reply& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (coras::http::iequals(h.name, name)) return h.value;
  return std::string(absent);
}

std::string body_of(const reply& r) {
  if (!r.has_blob_body()) return r.text;
  REQUIRE(r.memory);  // memory storage: blobs are never files
  return r.memory->substr(static_cast<std::size_t>(r.offset), static_cast<std::size_t>(r.length));
}

std::string error_code_of(const reply& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.text, ec);
  if (ec || !v.is_object()) return "<not JSON>";
  const auto* errors = v.as_object().if_contains("errors");
  if (!errors || !errors->is_array() || errors->as_array().empty()) return "<no errors>";
  const auto* code = errors->as_array()[0].as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : "<no code>";
}

// One registry: the dispatcher and what it needs, driven as registry.cpp
// drives it (the body in small pieces, `finish` once it is all in).
class harness {
 public:
  explicit harness(const registry_options& o)
      : hooks_(16), dispatcher_(o, coras::server::make_memory_storage(), hooks_) {
    dispatcher_.set_default_host("registry.test");  // the listening address
  }

  reply send(const request& rq) {
    exchange ex;
    ex.head.method = rq.method;
    ex.head.method_name = method_name(rq.method);
    ex.head.target = rq.target;
    // A Host the realm must never come from (issue 17, item 12).
    ex.head.host = "attacker.test";
    ex.head.authorization = rq.authorization;
    ex.head.content_type = rq.content_type;
    ex.head.content_range = rq.content_range;
    ex.head.range = rq.range;
    if (!rq.body.empty() || rq.method == verb::put || rq.method == verb::post ||
        rq.method == verb::patch)
      ex.head.content_length = rq.body.size();

    dispatcher_.begin(ex);
    if (ex.sink != body_sink::none && ex.out.status < 300) {
      constexpr std::size_t piece = 5;
      bool stopped = false;
      const std::string_view body = rq.body;
      for (std::size_t at = 0; at < body.size() && !stopped; at += piece)
        stopped = !dispatcher_.on_body(ex, body.substr(at, piece));
      if (!stopped) dispatcher_.finish(ex);
    } else if (!rq.body.empty()) {
      dispatcher_.abort(ex);
    }
    if (rq.method == verb::head) ex.out.head_only = true;
    return std::move(ex.out);
  }

  // Sends each step (with `{location}` filled in) and checks its reply.
  void run(const std::vector<step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto rq = steps[i].rq;
      if (auto at = rq.target.find("{location}"); at != std::string::npos)
        rq.target.replace(at, 10, location_);
      INFO("step " << i + 1 << ": " << method_name(rq.method) << ' ' << rq.target);
      const auto got = send(rq);
      check(got, steps[i].want);
      if (auto l = header_of(got, "Location"); l != absent) location_ = l;
    }
  }

 private:
  static void check(const reply& got, const expect& want) {
    INFO("reply body: " << got.text);
    CHECK(got.status == want.status);
    if (!want.code.empty()) {
      CHECK(header_of(got, "Content-Type") == "application/json; charset=utf-8");
      CHECK(error_code_of(got) == want.code);
    }
    for (const auto& [name, value] : want.headers) {
      INFO("header " << name);
      if (value == any)
        CHECK(header_of(got, name) != absent);
      else
        CHECK(header_of(got, name) == value);
    }
    if (want.body) CHECK(body_of(got) == *want.body);
    CHECK(got.head_only == want.head_only);
    if (want.length) CHECK(got.body_size() == *want.length);
    if (!want.text_has.empty()) CHECK(got.text.find(want.text_has) != std::string::npos);
  }

  hooks hooks_;
  dispatcher dispatcher_;
  std::string location_;
};

void run_rows(const std::vector<step>& setup, const std::vector<row>& rows) {
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      harness h(r.options);
      h.run(setup);
      h.run(r.steps);
    }
  }
}

// Content every flow below can use: the empty-JSON blob, and a manifest whose
// config and layer are that blob.
const std::string blob = "{}";
const std::string blob_digest = digest::of(blob).str();
const std::string manifest_type(coras::media_type::oci_manifest);
const std::string manifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
    blob_digest +
    R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json",)"
    R"("digest":")" +
    blob_digest + R"(","size":2}]})";
const std::string manifest_digest = digest::of(manifest).str();
const std::string hello = "hello world";
const std::string hello_digest = digest::of(hello).str();
const std::string json_type_text = "application/json; charset=utf-8";

const step push_blob{
    {.method = verb::post, .target = "/v2/r/blobs/uploads/?digest=" + blob_digest, .body = blob},
    {.status = 201, .headers = {{"Docker-Content-Digest", blob_digest}}}};

step put_manifest(const std::string& tag) {
  return {{.method = verb::put,
           .target = "/v2/r/manifests/" + tag,
           .content_type = manifest_type,
           .body = manifest},
          {.status = 201, .headers = {{"Docker-Content-Digest", manifest_digest}}}};
}

}  // namespace

TEST_CASE("dispatcher: base, unknown routes and names", "[server][dispatcher]") {
  const std::string unknown_digest = "sha256:" + std::string(64, 'a');
  const std::vector<row> rows = {
      {"GET /v2/ answers an empty JSON object",
       {{{.target = "/v2/"}, {.headers = {{"Content-Type", json_type_text}}, .body = "{}"}}}},
      {"HEAD /v2/ announces the same body",
       {{{.method = verb::head, .target = "/v2/"}, {.head_only = true, .length = 2}}}},
      {"/v2 without the slash", {{{.target = "/v2"}, {.body = "{}"}}}},
      {"POST /v2/ is unsupported",
       {{{.method = verb::post, .target = "/v2/"}, {.status = 405, .code = "UNSUPPORTED"}}}},
      {"a path outside /v2/ gets the plain 404 of Go's mux",
       {{{.target = "/v1/_ping"},
         {.status = 404,
          .headers = {{"Content-Type", "text/plain; charset=utf-8"}},
          .body = "404 page not found\n"}}}},
      {"/v2/<name> without an endpoint is not routed",
       {{{.target = "/v2/r"}, {.status = 404, .body = "404 page not found\n"}}}},
      {"a malformed target",
       {{{.target = "no-slash"},
         {.status = 400, .body = "400 bad request: malformed request target\n"}}}},
      {"tags of an unknown repository",
       {{{.target = "/v2/r/tags/list"}, {.status = 404, .code = "NAME_UNKNOWN"}}}},
      {"a manifest of an unknown repository",
       {{{.target = "/v2/r/manifests/v1"}, {.status = 404, .code = "NAME_UNKNOWN"}}}},
      {"a blob of an unknown repository",
       {{{.target = "/v2/r/blobs/" + unknown_digest}, {.status = 404, .code = "NAME_UNKNOWN"}}}},
      {"an unknown upload session",
       {{{.target = "/v2/r/blobs/uploads/nope"}, {.status = 404, .code = "BLOB_UPLOAD_UNKNOWN"}}}},
      {"a repository name against the grammar",
       {{{.target = "/v2/Upper/tags/list"}, {.status = 400, .code = "NAME_INVALID"}}}},
      {"the token endpoint without token auth",
       {{{.target = "/token"}, {.status = 404, .body = "404 page not found\n"}}}},
      {"the Referrers API turned off",
       {{{.target = "/v2/r/referrers/" + unknown_digest},
         {.status = 404, .body = "404 page not found\n"}}},
       registry_options{.referrers_api = false}},
  };
  run_rows({}, rows);
}

TEST_CASE("dispatcher: manifests", "[server][dispatcher]") {
  const std::string other = digest::of("other").str();
  registry_options small;
  small.max_manifest_bytes = 16;
  const std::vector<row> rows = {
      {"PUT by tag, then GET by tag and by digest",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/v1",
          .content_type = manifest_type,
          .body = manifest},
         {.status = 201,
          .headers = {{"Location", "/v2/r/manifests/" + manifest_digest},
                      {"Docker-Content-Digest", manifest_digest},
                      {"OCI-Subject", std::string(absent)}}}},
        {{.target = "/v2/r/manifests/v1"},
         {.headers = {{"Content-Type", manifest_type},
                      {"Docker-Content-Digest", manifest_digest},
                      {"ETag", '"' + manifest_digest + '"'}},
          .body = manifest}},
        {{.target = "/v2/r/manifests/" + manifest_digest}, {.body = manifest}}}},
      {"PUT, then HEAD announces the size without a body",
       {put_manifest("v1"),
        {{.method = verb::head, .target = "/v2/r/manifests/v1"},
         {.headers = {{"Content-Type", manifest_type}, {"Docker-Content-Digest", manifest_digest}},
          .head_only = true,
          .length = manifest.size()}}}},
      {"PUT by digest: the body's digest",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/" + manifest_digest,
          .content_type = manifest_type,
          .body = manifest},
         {.status = 201, .headers = {{"Docker-Content-Digest", manifest_digest}}}}}},
      {"PUT by a digest that is not the body's",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/" + other,
          .content_type = manifest_type,
          .body = manifest},
         {.status = 400, .code = "DIGEST_INVALID"}},
        {{.target = "/v2/r/manifests/" + manifest_digest},
         {.status = 404, .code = "MANIFEST_UNKNOWN"}}}},
      {"PUT by a malformed digest",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/sha256:nothex",
          .content_type = manifest_type,
          .body = manifest},
         {.status = 400, .code = "DIGEST_INVALID"}}}},
      {"PUT whose Content-Type disagrees with mediaType",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/v1",
          .content_type = std::string(coras::media_type::oci_index),
          .body = manifest},
         {.status = 400, .code = "MANIFEST_INVALID"}}}},
      {"PUT with a Content-Type in another case",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/v1",
          .content_type = "Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8",
          .body = manifest},
         {.status = 201}},
        {{.target = "/v2/r/manifests/v1"}, {.headers = {{"Content-Type", manifest_type}}}}}},
      {"PUT of a manifest whose blobs are missing",
       {{{.method = verb::put,
          .target = "/v2/other/manifests/v1",
          .content_type = manifest_type,
          .body = manifest},
         {.status = 400, .code = "MANIFEST_BLOB_UNKNOWN"}}}},
      {"PUT over max_manifest_bytes: 413 naming the option",
       {{{.method = verb::put,
          .target = "/v2/r/manifests/v1",
          .content_type = manifest_type,
          .body = manifest},
         {.status = 413,
          .code = "SIZE_INVALID",
          .text_has = "(registry_options::max_manifest_bytes)"}}},
       small},
      {"GET of an unknown tag",
       {{{.target = "/v2/r/manifests/v9"}, {.status = 404, .code = "MANIFEST_UNKNOWN"}}}},
      {"DELETE of a tag, then GET",
       {put_manifest("v1"),
        {{.method = verb::delete_, .target = "/v2/r/manifests/v1"}, {.status = 202}},
        {{.target = "/v2/r/manifests/v1"}, {.status = 404, .code = "MANIFEST_UNKNOWN"}},
        {{.target = "/v2/r/manifests/" + manifest_digest}, {.body = manifest}}}},
  };
  run_rows({push_blob}, rows);
}

TEST_CASE("dispatcher: blob uploads", "[server][dispatcher]") {
  const std::string other = digest::of("other").str();
  const std::vector<row> rows = {
      {"POST, then PUT with the whole body, then GET and HEAD",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"},
         {.status = 202,
          .headers = {{"Location", std::string(any)},
                      {"Range", "0-0"},
                      {"Docker-Upload-UUID", std::string(any)}}}},
        {{.method = verb::put, .target = "{location}?digest=" + hello_digest, .body = hello},
         {.status = 201,
          .headers = {{"Location", "/v2/r/blobs/" + hello_digest},
                      {"Docker-Content-Digest", hello_digest}}}},
        {{.target = "/v2/r/blobs/" + hello_digest},
         {.headers = {{"Content-Type", "application/octet-stream"},
                      {"Docker-Content-Digest", hello_digest},
                      {"Accept-Ranges", "bytes"}},
          .body = hello}},
        {{.method = verb::head, .target = "/v2/r/blobs/" + hello_digest},
         {.head_only = true, .length = hello.size()}}}},
      {"POST, PATCH a chunk, PUT the last one",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::patch, .target = "{location}", .content_range = "0-5", .body = "hello "},
         {.status = 202, .headers = {{"Range", "0-5"}}}},
        {{.target = "{location}"}, {.status = 204, .headers = {{"Range", "0-5"}}}},
        {{.method = verb::put, .target = "{location}?digest=" + hello_digest, .body = "world"},
         {.status = 201, .headers = {{"Docker-Content-Digest", hello_digest}}}},
        {{.target = "/v2/r/blobs/" + hello_digest}, {.body = hello}}}},
      {"PUT whose digest is not the content's",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::put, .target = "{location}?digest=" + other, .body = hello},
         {.status = 400, .code = "DIGEST_INVALID"}},
        {{.target = "/v2/r/blobs/" + other}, {.status = 404, .code = "BLOB_UNKNOWN"}}}},
      {"PUT without a digest",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::put, .target = "{location}", .body = hello},
         {.status = 400, .code = "DIGEST_INVALID"}}}},
      {"PUT with a malformed digest",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::put, .target = "{location}?digest=sha256:xyz", .body = hello},
         {.status = 400, .code = "DIGEST_INVALID"}}}},
      {"monolithic POST ?digest= with the wrong digest",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/?digest=" + other, .body = hello},
         {.status = 400, .code = "DIGEST_INVALID"}}}},
      {"PATCH whose Content-Range does not start at the session's end",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::patch, .target = "{location}", .content_range = "5-9", .body = "world"},
         {.status = 416, .code = "BLOB_UPLOAD_INVALID", .headers = {{"Range", "0-0"}}}}}},
      {"PATCH with a malformed Content-Range",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::patch, .target = "{location}", .content_range = "x", .body = "world"},
         {.status = 400, .code = "BLOB_UPLOAD_INVALID"}}}},
      {"a Range GET of a blob",
       {{{.method = verb::post,
          .target = "/v2/r/blobs/uploads/?digest=" + hello_digest,
          .body = hello},
         {.status = 201}},
        {{.target = "/v2/r/blobs/" + hello_digest, .range = "bytes=6-"},
         {.status = 206, .headers = {{"Content-Range", "bytes 6-10/11"}}, .body = "world"}},
        {{.target = "/v2/r/blobs/" + hello_digest, .range = "bytes=11-"},
         {.status = 416, .headers = {{"Content-Range", "bytes */11"}}}}}},
      {"DELETE of the session",
       {{{.method = verb::post, .target = "/v2/r/blobs/uploads/"}, {.status = 202}},
        {{.method = verb::delete_, .target = "{location}"}, {.status = 204}},
        {{.target = "{location}"}, {.status = 404, .code = "BLOB_UPLOAD_UNKNOWN"}}}},
  };
  run_rows({}, rows);
}

TEST_CASE("dispatcher: authorization", "[server][dispatcher]") {
  const registry_options basic{.basic_auth = coras::server::credentials{"u", "p"}};
  registry_options anonymous_pull = basic;
  anonymous_pull.anonymous_pull = true;
  const registry_options token{.token_auth = coras::server::credentials{"u", "p"}};
  const std::string basic_challenge = "Basic realm=\"coras\"";
  const std::vector<row> rows = {
      {"basic: no credentials",
       {{{.target = "/v2/"},
         {.status = 401,
          .code = "UNAUTHORIZED",
          .headers = {{"WWW-Authenticate", basic_challenge}}}}},
       basic},
      {"basic: a wrong password",
       {{{.target = "/v2/", .authorization = "Basic dTp4"},  // u:x
         {.status = 401,
          .code = "UNAUTHORIZED",
          .headers = {{"WWW-Authenticate", basic_challenge}}}}},
       basic},
      {"basic: a bearer token is no basic credential",
       {{{.target = "/v2/", .authorization = "Bearer dTpw"},
         {.status = 401, .code = "UNAUTHORIZED"}}},
       basic},
      {"basic: the right credentials",
       {{{.target = "/v2/", .authorization = "Basic dTpw"},  // u:p
         {.headers = {{"WWW-Authenticate", std::string(absent)}}, .body = "{}"}}},
       basic},
      {"basic with anonymous pull: reads pass, writes are challenged",
       {{{.target = "/v2/r/tags/list"}, {.status = 404, .code = "NAME_UNKNOWN"}},
        {{.method = verb::post, .target = "/v2/r/blobs/uploads/"},
         {.status = 401,
          .code = "UNAUTHORIZED",
          .headers = {{"WWW-Authenticate", basic_challenge}}}}},
       anonymous_pull},
      {"token: the challenge names the realm, service and scope",
       {{{.target = "/v2/r/tags/list"},
         {.status = 401,
          .code = "UNAUTHORIZED",
          .headers = {{"WWW-Authenticate",
                       R"(Bearer realm="http://registry.test/token",service="coras",)"
                       R"(scope="repository:r:pull")"}}}},
        {{.method = verb::post, .target = "/v2/r/blobs/uploads/"},
         {.status = 401,
          .headers = {{"WWW-Authenticate",
                       R"(Bearer realm="http://registry.test/token",service="coras",)"
                       R"(scope="repository:r:pull,push")"}}}},
        {{.target = "/v2/r/tags/list", .authorization = "Bearer unknown"},
         {.status = 401,
          .headers = {{"WWW-Authenticate",
                       R"(Bearer realm="http://registry.test/token",service="coras",)"
                       R"(scope="repository:r:pull",error="invalid_token")"}}}}},
       token},
      {"token: the endpoint refuses wrong credentials",
       {{{.target = "/token?service=coras&scope=repository:r:pull", .authorization = "Basic dTp4"},
         {.status = 401,
          .code = "UNAUTHORIZED",
          .headers = {{"WWW-Authenticate", basic_challenge}}}}},
       token},
  };
  run_rows({}, rows);
}

TEST_CASE("dispatcher: tags and catalog pagination", "[server][dispatcher]") {
  const auto tags = [](std::string list) { return R"({"name":"r","tags":[)" + list + "]}"; };
  const std::vector<row> rows = {
      {"everything",
       {{{.target = "/v2/r/tags/list"},
         {.headers = {{"Link", std::string(absent)}}, .body = tags(R"("a","b","c","d")")}}}},
      {"the first page links to the next",
       {{{.target = "/v2/r/tags/list?n=2"},
         {.headers = {{"Content-Type", json_type_text},
                      {"Link", R"(</v2/r/tags/list?n=2&last=b>; rel="next")"}},
          .body = tags(R"("a","b")")}}}},
      {"the last page has no link",
       {{{.target = "/v2/r/tags/list?n=2&last=b"},
         {.headers = {{"Link", std::string(absent)}}, .body = tags(R"("c","d")")}}}},
      {"a page that ends exactly at the end",
       {{{.target = "/v2/r/tags/list?n=4"},
         {.headers = {{"Link", std::string(absent)}}, .body = tags(R"("a","b","c","d")")}}}},
      {"last between two tags",
       {{{.target = "/v2/r/tags/list?n=1&last=bb"},
         {.headers = {{"Link", R"(</v2/r/tags/list?n=1&last=c>; rel="next")"}},
          .body = tags(R"("c")")}}}},
      {"last after every tag", {{{.target = "/v2/r/tags/list?last=z"}, {.body = tags("")}}}},
      {"n=0: an empty page",
       {{{.target = "/v2/r/tags/list?n=0"},
         {.headers = {{"Link", std::string(absent)}}, .body = tags("")}}}},
      {"a malformed n: no limit",
       {{{.target = "/v2/r/tags/list?n=x"}, {.body = tags(R"("a","b","c","d")")}}}},
      {"the catalog",
       {{{.target = "/v2/_catalog?n=1"},
         {.headers = {{"Link", std::string(absent)}}, .body = R"({"repositories":["r"]})"}}}},
  };
  run_rows({push_blob, put_manifest("d"), put_manifest("b"), put_manifest("a"), put_manifest("c")},
           rows);
}

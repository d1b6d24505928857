// The embedded registry's basic auth, bearer tokens and TLS.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace coras::test;
using coras::server::credentials;
using coras::server::registry_options;

namespace {

std::string json_string(const std::string& body, const std::string& key) {
  auto p = body.find("\"" + key + "\":\"");
  if (p == std::string::npos) return {};
  p += key.size() + 4;
  return body.substr(p, body.find('"', p) - p);
}

std::string bearer(const std::string& token) { return "Bearer " + token; }

}  // namespace

TEST_CASE("basic auth", "[server][auth]") {
  registry_options o;
  o.basic_auth = credentials{"alice", "s3cret"};
  const bool anonymous_pull = GENERATE(false, true);
  o.anonymous_pull = anonymous_pull;
  running_registry reg(o);
  auto c = reg.client();
  const header_list good{{"Authorization", basic("alice", "s3cret")}};

  auto r = c.get("/v2/");
  if (!anonymous_pull) {
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == R"(Basic realm="coras")");
    CHECK(r.body.find(R"("code":"UNAUTHORIZED")") != std::string::npos);
  }
  CHECK(c.get("/v2/", {{"Authorization", basic("alice", "wrong")}}).status ==
        (anonymous_pull ? 200 : 401));
  CHECK(c.get("/v2/", good).status == 200);

  // Pushing always needs the credentials.
  const std::string data = "guarded";
  r = c.request("POST", "/v2/r/blobs/uploads/?digest=" + sha256(data), {}, data);
  CHECK(r.status == 401);
  const auto d = push_blob(c, "r", data, good);
  r = c.get("/v2/r/blobs/" + d);
  CHECK(r.status == (anonymous_pull ? 200 : 401));
  CHECK(same(c.get("/v2/r/blobs/" + d, good).body, data));
  CHECK(c.request("DELETE", "/v2/r/blobs/" + d).status == 401);
}

TEST_CASE("bearer token auth", "[server][auth]") {
  registry_options o;
  o.token_auth = credentials{"bob", "hunter2"};
  running_registry reg(o);
  auto c = reg.client();
  const std::string realm = "http://127.0.0.1:" + std::to_string(reg.port()) + "/token";
  auto challenge = [&](std::string_view method, std::string_view target) {
    return c.request(method, target).header("WWW-Authenticate");
  };

  // Docker Hub's challenges.
  auto r = c.get("/v2/");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"" + realm + "\",service=\"coras\"");
  CHECK(challenge("GET", "/v2/lib/app/manifests/v1") ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"repository:lib/app:pull\"");
  CHECK(challenge("HEAD", "/v2/lib/app/blobs/" + sha256("x")) ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"repository:lib/app:pull\"");
  CHECK(challenge("POST", "/v2/lib/app/blobs/uploads/") ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"repository:lib/app:pull,push\"");
  CHECK(challenge("PUT", "/v2/lib/app/manifests/v1") ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"repository:lib/app:pull,push\"");
  CHECK(challenge("DELETE", "/v2/lib/app/manifests/v1") ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"repository:lib/app:delete\"");
  CHECK(challenge("GET", "/v2/_catalog") ==
        "Bearer realm=\"" + realm + "\",service=\"coras\",scope=\"registry:catalog:*\"");
  CHECK(challenge("POST", "/v2/dst/blobs/uploads/?mount=" + sha256("x") + "&from=src") ==
        "Bearer realm=\"" + realm +
            "\",service=\"coras\",scope=\"repository:dst:pull,push repository:src:pull\"");

  // GET /token with basic credentials and two scopes.
  r = c.get("/token?service=coras&scope=repository:lib/app:pull,push&scope=registry:catalog:*",
            {{"Authorization", basic("bob", "hunter2")}});
  REQUIRE(r.status == 200);
  const auto push_token = json_string(r.body, "token");
  CHECK(push_token.size() >= 32);
  CHECK(json_string(r.body, "access_token") == push_token);
  CHECK(r.body.find(R"("expires_in":300)") != std::string::npos);
  CHECK(json_string(r.body, "issued_at").size() == 20);
  CHECK(r.body.find("refresh_token") == std::string::npos);
  const header_list push_auth{{"Authorization", bearer(push_token)}};
  CHECK(c.get("/v2/", push_auth).status == 200);
  const auto d = push_blob(c, "lib/app", "layer", push_auth);
  CHECK(c.get("/v2/lib/app/blobs/" + d, push_auth).body == "layer");
  CHECK(c.get("/v2/_catalog", push_auth).status == 200);
  // The token is bound to its scopes: another repository is out of reach.
  r = c.get("/v2/other/tags/list", push_auth);
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").ends_with(R"(,error="insufficient_scope")"));
  CHECK(c.request("DELETE", "/v2/lib/app/blobs/" + d, push_auth).status == 401);

  // A pull token cannot push.
  r = c.get("/token?service=coras&scope=repository:lib/app:pull",
            {{"Authorization", basic("bob", "hunter2")}});
  const header_list pull_auth{{"Authorization", bearer(json_string(r.body, "token"))}};
  CHECK(c.get("/v2/lib/app/blobs/" + d, pull_auth).status == 200);
  r = c.request("POST", "/v2/lib/app/blobs/uploads/", pull_auth);
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").find("repository:lib/app:pull,push") != std::string::npos);

  // Mounting needs pull on the source as well.
  r = c.request("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=lib/app");
  r = c.get("/token?service=coras&scope=repository:dst:pull,push",
            {{"Authorization", basic("bob", "hunter2")}});
  const header_list dst_only{{"Authorization", bearer(json_string(r.body, "token"))}};
  CHECK(c.request("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=lib/app", dst_only).status ==
        401);
  r = c.get("/token?service=coras&scope=repository:dst:pull,push&scope=repository:lib/app:pull",
            {{"Authorization", basic("bob", "hunter2")}});
  const header_list both{{"Authorization", bearer(json_string(r.body, "token"))}};
  CHECK(c.request("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=lib/app", both).status ==
        201);

  // Wrong credentials, bogus tokens, no credentials.
  CHECK(c.get("/token?service=coras&scope=repository:lib/app:pull",
              {{"Authorization", basic("bob", "wrong")}})
            .status == 401);
  r = c.get("/v2/lib/app/blobs/" + d, {{"Authorization", "Bearer made-up"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").ends_with(R"(,error="invalid_token")"));
  r = c.get("/token?service=coras&scope=repository:lib/app:pull");  // anonymous: nothing granted
  REQUIRE(r.status == 200);
  CHECK(c.get("/v2/lib/app/blobs/" + d, {{"Authorization", bearer(json_string(r.body, "token"))}})
            .status == 401);
}

TEST_CASE("OAuth2 token endpoint", "[server][auth]") {
  registry_options o;
  o.token_auth = credentials{"bob", "hunter2"};
  running_registry reg(o);
  auto c = reg.client();
  const header_list form{{"Content-Type", "application/x-www-form-urlencoded"}};

  auto r = c.request("POST", "/token", form,
                     "grant_type=password&username=bob&password=hunter2&service=coras&client_id="
                     "coras-test&scope=repository%3Aapp%3Apull+repository%3Aapp%3Apush");
  REQUIRE(r.status == 200);
  const auto token = json_string(r.body, "access_token");
  const auto refresh = json_string(r.body, "refresh_token");
  CHECK(!token.empty());
  CHECK(!refresh.empty());
  push_blob(c, "app", "via oauth", {{"Authorization", bearer(token)}});

  r = c.request("POST", "/token", form,
                "grant_type=refresh_token&refresh_token=" + refresh +
                    "&service=coras&scope=repository:app:pull");
  REQUIRE(r.status == 200);
  CHECK(json_string(r.body, "access_token") != token);
  CHECK(c.get("/v2/app/blobs/" + sha256("via oauth"),
              {{"Authorization", bearer(json_string(r.body, "access_token"))}})
            .status == 200);

  CHECK(c.request("POST", "/token", form, "grant_type=password&username=bob&password=no").status ==
        401);
  CHECK(c.request("POST", "/token", form, "grant_type=refresh_token&refresh_token=nope").status ==
        401);
  CHECK(c.request("POST", "/token", form, "grant_type=client_credentials").status == 400);
}

TEST_CASE("anonymous pull tokens and expiry", "[server][auth]") {
  registry_options o;
  o.token_auth = credentials{"bob", "hunter2"};
  o.anonymous_pull = true;
  o.token_lifetime = std::chrono::seconds(1);
  running_registry reg(o);
  auto c = reg.client();
  auto r = c.get("/token?service=coras&scope=repository:pub:pull,push",
                 {{"Authorization", basic("bob", "hunter2")}});
  const auto d =
      push_blob(c, "pub", "open", {{"Authorization", bearer(json_string(r.body, "token"))}});

  r = c.get("/token?service=coras&scope=repository:pub:pull,push");  // asks for more than it gets
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"("expires_in":1)") != std::string::npos);
  const header_list anon{{"Authorization", bearer(json_string(r.body, "token"))}};
  CHECK(c.get("/v2/pub/blobs/" + d, anon).status == 200);
  CHECK(c.request("POST", "/v2/pub/blobs/uploads/", anon).status == 401);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  r = c.get("/v2/pub/blobs/" + d, anon);
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").ends_with(R"(,error="invalid_token")"));
}

TEST_CASE("TLS", "[server][tls]") {
  temp_dir dir;
  write_self_signed(dir.path() / "cert.pem", dir.path() / "key.pem");
  registry_options o;
  o.tls_cert_file = dir.path() / "cert.pem";
  o.tls_key_file = dir.path() / "key.pem";
  o.token_auth = credentials{"bob", "hunter2"};
  running_registry reg(o);
  CHECK(reg->url() == "https://127.0.0.1:" + std::to_string(reg.port()));
  auto c = reg.client();
  auto r = c.get("/v2/");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate")
            .starts_with("Bearer realm=\"https://127.0.0.1:" + std::to_string(reg.port()) +
                         "/token\""));
  r = c.get("/token?service=coras&scope=repository:s:pull,push",
            {{"Authorization", basic("bob", "hunter2")}});
  const header_list auth{{"Authorization", bearer(json_string(r.body, "token"))}};
  const std::string data = random_bytes(300000, 5);
  const auto d = push_blob(c, "s", data, auth);
  CHECK(same(c.get("/v2/s/blobs/" + d, auth).body, data));
  CHECK(reg->stats().tls_handshakes == 1);
  CHECK(reg->stats().connections_accepted == 1);

  SECTION("files on disk go through TLS too") {
    temp_dir root;
    registry_options d_opts = o;
    d_opts.root = root.path();
    running_registry disk(d_opts);
    auto dc = disk.client();
    r = dc.get("/token?service=coras&scope=repository:s:pull,push",
               {{"Authorization", basic("bob", "hunter2")}});
    const header_list a{{"Authorization", bearer(json_string(r.body, "token"))}};
    push_blob(dc, "s", data, a);
    CHECK(same(dc.get("/v2/s/blobs/" + d, a).body, data));
    r = dc.get("/v2/s/blobs/" + d, {{"Authorization", a[0].second}, {"Range", "bytes=100-"}});
    CHECK(r.status == 206);
    CHECK(same(r.body, data.substr(100)));
  }
}

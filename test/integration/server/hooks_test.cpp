// The embedded registry's test hooks (counters, request log, faults),
// persistence across restarts, and stop().
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

using namespace coras::test;
using coras::server::registry_options;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

template <class F>
std::chrono::milliseconds timed(F&& f) {
  const auto start = steady::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
}

// How many headers named `name` (case-insensitive) `r` carries.
std::size_t count_headers(const http_response& r, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(r.headers.begin(), r.headers.end(), [&](auto& h) {
    return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  }));
}

constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";

// A repository "h" with a layer, a config and a manifest tagged "v1" over them.
struct manifest_fixture {
  std::string layer = random_bytes(300000, 5);
  std::string layer_digest;
  std::string manifest;
  std::string digest;
  std::string url = "/v2/h/manifests/v1";

  explicit manifest_fixture(http_client& c) {
    layer_digest = push_blob(c, "h", layer);
    const std::string config = "{}";
    push_blob(c, "h", config);
    manifest = image_manifest_json({sha256(config), config.size()}, {{layer_digest, layer.size()}});
    digest = sha256(manifest);
    REQUIRE(put_manifest(c, "h", "v1", manifest, oci_manifest).status == 201);
  }
};

}  // namespace

TEST_CASE("stats count connections, not requests", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  for (int i = 0; i < 5; ++i) REQUIRE(c.get("/v2/").status == 200);
  CHECK(c.connections_opened() == 1);
  auto s = reg->stats();
  CHECK(s.connections_accepted == 1);
  CHECK(s.requests == 5);
  CHECK(s.tls_handshakes == 0);

  auto other = reg.client();
  other.get("/v2/");
  CHECK(reg->stats().connections_accepted == 2);
  // Connection: close ends the connection; the next request opens another.
  c.get("/v2/", {{"Connection", "close"}});
  c.get("/v2/");
  CHECK(reg->stats().connections_accepted == 3);
  reg->reset_stats();
  CHECK(reg->stats().requests == 0);
}

TEST_CASE("request log", "[server][hooks]") {
  registry_options o;
  o.request_log_capacity = 3;
  o.basic_auth = coras::server::credentials{"u", "p"};
  running_registry reg(o);
  auto c = reg.client();
  c.get("/v2/");
  c.get("/v2/", {{"Authorization", basic("u", "p")}});
  const auto d = push_blob(c, "r", "logged", {{"Authorization", basic("u", "p")}});
  c.get("/v2/r/blobs/" + d + "?x=1", {{"Authorization", basic("u", "p")}, {"Range", "bytes=0-1"}});
  auto log = reg->recent_requests();
  REQUIRE(log.size() == 3);  // bounded: the first request fell out
  CHECK(log[0].method == "GET");
  CHECK(log[0].status == 200);
  CHECK(log[1].method == "POST");
  CHECK(log[1].status == 201);
  CHECK(log[1].header("Content-Length") == "6");
  CHECK(log[2].target == "/v2/r/blobs/" + d + "?x=1");
  CHECK(log[2].authorization);
  CHECK(log[2].status == 206);
  CHECK(log[2].header("range") == "bytes=0-1");
  CHECK(log[2].header("Authorization").empty());  // never recorded
  reg->clear_request_log();
  CHECK(reg->recent_requests().empty());
}

TEST_CASE("fault: cut blob bodies", "[server][hooks]") {
  temp_dir dir;
  registry_options o;
  const bool disk = GENERATE(false, true);
  if (disk) o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = random_bytes(500000, 9);
  const auto d = push_blob(c, "cut", data);
  const std::string url = "/v2/cut/blobs/" + d;

  reg->cut_blob_gets(1000, 2);
  for (int i = 0; i < 2; ++i) {
    auto r = c.get(url);
    CHECK(r.status == 200);
    CHECK_FALSE(r.complete);
    CHECK(r.header("Content-Length") == std::to_string(data.size()));
    CHECK(same(r.body, data.substr(0, 1000)));
  }
  CHECK(same(c.get(url).body, data));
  CHECK(c.request("HEAD", url).complete);  // HEADs and manifests are never cut

  reg->cut_blob_gets(std::vector<std::uint64_t>{10, 200000});
  auto r = c.get(url, {{"Range", "bytes=100-"}});
  CHECK(r.status == 206);
  CHECK_FALSE(r.complete);
  CHECK(same(r.body, data.substr(100, 10)));
  r = c.get(url);
  CHECK_FALSE(r.complete);
  CHECK(r.body.size() == 200000);
  CHECK(c.get(url).complete);

  reg->cut_blob_gets(0, 1);
  r = c.get(url);
  CHECK_FALSE(r.complete);
  CHECK(r.body.empty());
  reg->clear_faults();
  CHECK(c.get(url).complete);
}

TEST_CASE("fault: corrupted blob bodies, and the faults taken", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(100000, 12);
  const auto d = push_blob(c, "bad", data);
  const std::string url = "/v2/bad/blobs/" + d;
  reg->reset_stats();

  reg->corrupt_blob_gets(2);
  CHECK(c.request("HEAD", url).status == 200);  // no body: not taken
  auto r = c.get(url);
  CHECK(r.complete);
  CHECK(r.header("Docker-Content-Digest") == d);
  REQUIRE(r.body.size() == data.size());
  CHECK_FALSE(same(r.body, data));
  std::size_t differ = 0;
  for (std::size_t i = 0; i < data.size(); ++i) differ += r.body[i] != data[i];
  CHECK(differ == 1);
  r = c.get(url, {{"Range", "bytes=10-19"}});
  CHECK(r.status == 206);
  CHECK(r.body.size() == 10);
  CHECK_FALSE(same(r.body, data.substr(10, 10)));
  CHECK(same(c.get(url).body, data));  // two taken, the third is whole
  CHECK(reg->stats().faults_injected == 2);

  reg->corrupt_blob_gets(1);
  reg->cut_blob_gets(10, 1);
  reg->clear_faults();
  CHECK(same(c.get(url).body, data));
  reg->inject_status({503, 1, "/blobs/", "", ""});
  CHECK(c.get(url).status == 503);
  CHECK(reg->stats().faults_injected == 3);
  reg->reset_stats();
  CHECK(reg->stats().faults_injected == 0);
}

TEST_CASE("fault: TLS handshakes reset after the ClientHello", "[server][hooks][tls]") {
  temp_dir dir;
  write_self_signed(dir.path() / "cert.pem", dir.path() / "key.pem");
  registry_options o;
  o.tls_cert_file = dir.path() / "cert.pem";
  o.tls_key_file = dir.path() / "key.pem";
  running_registry reg(o);
  reg->reset_tls_handshakes(2);
  for (int i = 0; i < 2; ++i) {
    auto c = reg.client();
    CHECK_THROWS_WITH(c.get("/v2/"), Catch::Contains("TLS handshake"));
  }
  auto c = reg.client();
  CHECK(c.get("/v2/").status == 200);
  CHECK(reg->stats().tls_handshakes == 1);
  CHECK(reg->stats().connections_accepted == 3);
  CHECK(reg->stats().faults_injected == 2);

  reg->reset_tls_handshakes(1);
  reg->clear_faults();
  auto fresh = reg.client();
  CHECK(fresh.get("/v2/").status == 200);
}

TEST_CASE("fault: status answers", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const auto d = push_blob(c, "s", "x");
  reg->inject_status({503, 2, "/blobs/", "7", ""});
  CHECK(c.get("/v2/").status == 200);  // path does not match
  auto r = c.get("/v2/s/blobs/" + d);
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "7");
  CHECK(c.request("HEAD", "/v2/s/blobs/" + d).status == 503);
  CHECK(c.get("/v2/s/blobs/" + d).status == 200);

  reg->inject_status({429, 1, "", "", ""});
  r = c.get("/v2/");
  CHECK(r.status == 429);
  CHECK_FALSE(r.has_header("Retry-After"));
  CHECK(r.body.find(R"("code":"TOOMANYREQUESTS")") != std::string::npos);
  CHECK(c.get("/v2/").status == 200);

  // A refused upload with a body: the connection stays usable.
  reg->inject_status({502, 1, "/uploads/", "", ""});
  const std::string body = random_bytes(300000);
  CHECK(c.request("POST", "/v2/s/blobs/uploads/?digest=" + sha256(body), {}, body).status == 502);
  CHECK(c.request("POST", "/v2/s/blobs/uploads/?digest=" + sha256(body), {}, body).status == 201);
}

TEST_CASE("fault: delays", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(400000, 4);
  const auto d = push_blob(c, "slow", data);

  reg->inject_delay({300ms, 0ms, 1, "/v2/"});
  CHECK(timed([&] { CHECK(c.get("/v2/").status == 200); }) >= 290ms);
  CHECK(timed([&] { c.get("/v2/"); }) < 250ms);

  reg->inject_delay({0ms, 300ms, 1, "/blobs/"});
  http_response r;
  CHECK(timed([&] { r = c.get("/v2/slow/blobs/" + d); }) >= 290ms);
  CHECK(r.complete);
  CHECK(same(r.body, data));
}

TEST_CASE("fault: redirect blob GETs to another origin", "[server][hooks]") {
  registry_options a_opts;
  a_opts.basic_auth = coras::server::credentials{"u", "p"};
  running_registry a(a_opts);
  registry_options b_opts;
  b_opts.storage = a->storage();  // same content, no auth
  running_registry b(b_opts);

  auto ca = a.client();
  const header_list auth{{"Authorization", basic("u", "p")}};
  const auto d = push_blob(ca, "r", "redirected", auth);
  a->redirect_blob_gets(b->url());
  auto r = ca.get("/v2/r/blobs/" + d, auth);
  CHECK(r.status == 307);
  const auto location = r.header("Location");
  CHECK(location == b->url() + "/v2/r/blobs/" + d);
  CHECK(ca.request("HEAD", "/v2/r/blobs/" + d, auth).status == 200);  // only GETs move

  auto cb = b.client();
  r = cb.get(location.substr(b->url().size()));
  CHECK(r.status == 200);
  CHECK(r.body == "redirected");
  const auto log = b->recent_requests();
  REQUIRE(log.size() == 1);
  CHECK_FALSE(log[0].authorization);

  a->redirect_blob_gets("");
  CHECK(ca.get("/v2/r/blobs/" + d, auth).status == 200);
}

TEST_CASE("fault: headers dropped from manifest GET and HEAD", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const manifest_fixture m(c);

  reg->inject_headers({"/manifests/", "GET", 1, {"docker-content-digest"}, {}, false});
  CHECK(c.request("HEAD", m.url).header("Docker-Content-Digest") == m.digest);  // not a GET
  auto r = c.get(m.url);
  CHECK(r.status == 200);
  CHECK_FALSE(r.has_header("Docker-Content-Digest"));
  CHECK(r.header("Content-Type") == oci_manifest);
  CHECK(r.header("ETag") == '"' + m.digest + '"');
  CHECK(r.header("Content-Length") == std::to_string(m.manifest.size()));
  CHECK(r.body == m.manifest);
  CHECK(c.get(m.url).header("Docker-Content-Digest") == m.digest);  // count honoured

  reg->inject_headers({"/manifests/", "head", 2, {"Docker-Content-Digest", "ETag"}, {}, false});
  for (int i = 0; i < 2; ++i) {
    r = c.request("HEAD", m.url);
    CHECK(r.status == 200);
    CHECK_FALSE(r.has_header("Docker-Content-Digest"));
    CHECK_FALSE(r.has_header("ETag"));
    CHECK(r.header("Content-Length") == std::to_string(m.manifest.size()));
  }
  CHECK(c.request("HEAD", m.url).header("Docker-Content-Digest") == m.digest);
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("fault: wrong or malformed Docker-Content-Digest", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const manifest_fixture m(c);
  const std::string other = sha256("something else");

  reg->inject_headers({"/manifests/", "", 2, {}, {{"Docker-Content-Digest", other}}, false});
  CHECK(c.get("/v2/").status == 200);  // path does not match: not counted
  auto r = c.get(m.url);
  CHECK(count_headers(r, "Docker-Content-Digest") == 1);
  CHECK(r.header("Docker-Content-Digest") == other);
  CHECK(r.body == m.manifest);
  r = c.request("HEAD", m.url);
  CHECK(count_headers(r, "Docker-Content-Digest") == 1);
  CHECK(r.header("Docker-Content-Digest") == other);
  CHECK(c.get(m.url).header("Docker-Content-Digest") == m.digest);

  // By digest too, and a value that is no digest at all.
  const std::string by_digest = "/v2/h/manifests/" + m.digest;
  reg->inject_headers({m.digest, "", 1, {}, {{"docker-content-digest", "sha256:nothex"}}, false});
  r = c.get(by_digest);
  CHECK(r.status == 200);
  CHECK(count_headers(r, "Docker-Content-Digest") == 1);
  CHECK(r.header("Docker-Content-Digest") == "sha256:nothex");
  CHECK(r.body == m.manifest);
  CHECK(c.get(by_digest).header("Docker-Content-Digest") == m.digest);
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("fault: Content-Type of a manifest GET", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const manifest_fixture m(c);
  reg->inject_headers({"/manifests/", "GET", 1, {}, {{"Content-Type", "text/plain"}}, false});
  auto r = c.get(m.url);
  CHECK(count_headers(r, "Content-Type") == 1);
  CHECK(r.header("Content-Type") == "text/plain");
  CHECK(r.body == m.manifest);
  CHECK(c.get(m.url).header("Content-Type") == oci_manifest);
}

TEST_CASE("fault: bodies of unknown length", "[server][hooks]") {
  temp_dir dir;
  registry_options o;
  const bool disk = GENERATE(false, true);
  if (disk) o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const manifest_fixture m(c);
  const std::string blob_url = "/v2/h/blobs/" + m.layer_digest;

  auto check_chunked = [](const http_response& r) {
    CHECK(r.complete);
    CHECK_FALSE(r.has_header("Content-Length"));
    CHECK(r.header("Transfer-Encoding") == "chunked");
  };
  reg->inject_headers({"/manifests/", "GET", 1, {}, {}, true});
  auto r = c.get(m.url);
  CHECK(r.status == 200);
  check_chunked(r);
  CHECK(r.header("Docker-Content-Digest") == m.digest);
  CHECK(r.body == m.manifest);
  CHECK(c.get(m.url).header("Content-Length") == std::to_string(m.manifest.size()));

  reg->inject_headers({"/blobs/", "GET", 2, {}, {}, true});
  r = c.get(blob_url);
  check_chunked(r);
  CHECK(same(r.body, m.layer));
  r = c.get(blob_url, {{"Range", "bytes=10-"}});  // a 206 too
  CHECK(r.status == 206);
  check_chunked(r);
  CHECK(same(r.body, m.layer.substr(10)));
  r = c.get(blob_url);
  CHECK(r.header("Content-Length") == std::to_string(m.layer.size()));
  CHECK(same(r.body, m.layer));

  // Empty bodies and text bodies (errors) as well.
  const auto empty = push_blob(c, "h", "");
  reg->inject_headers({"", "GET", 2, {}, {}, true});
  r = c.get("/v2/h/blobs/" + empty);
  CHECK(r.status == 200);
  check_chunked(r);
  CHECK(r.body.empty());
  r = c.get("/v2/h/manifests/nope");
  CHECK(r.status == 404);
  check_chunked(r);
  CHECK(r.body.find("MANIFEST_UNKNOWN") != std::string::npos);
  CHECK(c.get("/v2/h/manifests/nope").has_header("Content-Length"));
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("fault: HEAD without Content-Length", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const manifest_fixture m(c);
  const std::string blob_url = "/v2/h/blobs/" + m.layer_digest;

  reg->inject_headers({"", "HEAD", 2, {}, {}, true});
  CHECK(c.get(m.url).header("Content-Length") == std::to_string(m.manifest.size()));  // a GET
  for (const auto& url : {m.url, blob_url}) {
    auto r = c.request("HEAD", url);
    CHECK(r.status == 200);
    CHECK(r.complete);
    CHECK_FALSE(r.has_header("Content-Length"));
    CHECK_FALSE(r.has_header("Transfer-Encoding"));
    CHECK(r.body.empty());
  }
  CHECK(c.request("HEAD", blob_url).header("Content-Length") == std::to_string(m.layer.size()));
  // The connection is still in step: the next GET gets its own response.
  CHECK(same(c.get(blob_url).body, m.layer));
  CHECK(c.connections_opened() == 1);

  // On a HEAD, Content-Length is an ordinary header; with a body it is framing.
  reg->inject_headers({"", "", 2, {}, {{"Content-Length", "7"}}, false});
  CHECK(c.request("HEAD", m.url).header("Content-Length") == "7");
  auto r = c.get(m.url);
  CHECK(r.header("Content-Length") == std::to_string(m.manifest.size()));
  CHECK(r.body == m.manifest);
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("fault: header faults and clear_faults", "[server][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const manifest_fixture m(c);
  reg->inject_headers({"/manifests/", "", 5, {"Docker-Content-Digest"}, {{"X-Extra", "1"}}, true});
  auto r = c.get(m.url);
  CHECK_FALSE(r.has_header("Docker-Content-Digest"));
  CHECK(r.header("X-Extra") == "1");
  reg->clear_faults();
  r = c.get(m.url);
  CHECK(r.header("Docker-Content-Digest") == m.digest);
  CHECK_FALSE(r.has_header("X-Extra"));
  CHECK(r.has_header("Content-Length"));

  // A later fault replaces a pending one; count 0 removes it.
  reg->inject_headers({"/manifests/", "", 5, {"ETag"}, {}, false});
  reg->inject_headers({"/manifests/", "", 1, {"Content-Type"}, {}, false});
  r = c.get(m.url);
  CHECK(r.has_header("ETag"));
  CHECK_FALSE(r.has_header("Content-Type"));
  CHECK(c.get(m.url).has_header("Content-Type"));
  reg->inject_headers({"/manifests/", "", 1, {"Content-Type"}, {}, false});
  reg->inject_headers({"/manifests/", "", 0, {"Content-Type"}, {}, false});
  CHECK(c.get(m.url).has_header("Content-Type"));

  // Combined with an injected status: the fault's answer is edited.
  reg->inject_status({503, 1, "/manifests/", "3", ""});
  reg->inject_headers({"/manifests/", "", 1, {"Retry-After"}, {}, false});
  r = c.get(m.url);
  CHECK(r.status == 503);
  CHECK_FALSE(r.has_header("Retry-After"));
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("content survives a restart", "[server][storage]") {
  temp_dir dir;
  registry_options o;
  o.root = dir.path();
  const std::string layer = random_bytes(100000, 2);
  const std::string config = R"({"architecture":"amd64"})";
  std::string manifest, referrer;
  {
    running_registry reg(o);
    auto c = reg.client();
    push_blob(c, "keep/me", layer);
    push_blob(c, "keep/me", config);
    manifest =
        image_manifest_json({sha256(config), config.size()}, {{sha256(layer), layer.size()}});
    REQUIRE(put_manifest(c, "keep/me", "v1", manifest, "application/vnd.oci.image.manifest.v1+json")
                .status == 201);
    const blob_ref subject{sha256(manifest), manifest.size()};
    referrer =
        image_manifest_json({sha256(config), config.size()}, {}, "application/x-note", &subject);
    REQUIRE(put_manifest(c, "keep/me", sha256(referrer), referrer,
                         "application/vnd.oci.image.manifest.v1+json")
                .status == 201);
    REQUIRE(
        put_manifest(c, "keep/me", "old", manifest, "application/vnd.oci.image.manifest.v1+json")
            .status == 201);
    REQUIRE(c.request("DELETE", "/v2/keep/me/manifests/old").status == 202);
    // An unfinished upload does not survive.
    c.request("PATCH", c.request("POST", "/v2/keep/me/blobs/uploads/").header("Location"), {},
              "partial");
  }
  running_registry reg(o);
  auto c = reg.client();
  auto r = c.get("/v2/keep/me/manifests/v1");
  CHECK(r.status == 200);
  CHECK(r.body == manifest);
  CHECK(r.header("Content-Type") == "application/vnd.oci.image.manifest.v1+json");
  CHECK(c.get("/v2/keep/me/blobs/" + sha256(layer)).body == layer);
  CHECK(c.get("/v2/keep/me/tags/list").body == R"({"name":"keep/me","tags":["v1"]})");
  CHECK(c.get("/v2/_catalog").body == R"({"repositories":["keep/me"]})");
  r = c.get("/v2/keep/me/referrers/" + sha256(manifest));
  CHECK(r.body.find(sha256(referrer)) != std::string::npos);
  CHECK(r.body.find(R"("artifactType":"application/x-note")") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir.path() / "uploads"));
}

TEST_CASE("clients vanishing mid-body", "[server]") {
  // sendfile(2) to a reset connection raises SIGPIPE, which would end this
  // test process; the registry must swallow it.
  temp_dir dir;
  registry_options o;
  o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = random_bytes(8 * 1024 * 1024, 21);
  const auto d = push_blob(c, "big", data);
  for (int i = 0; i < 20; ++i) get_and_reset(reg.port(), "/v2/big/blobs/" + d, 100 + 1000 * i);
  std::this_thread::sleep_for(50ms);
  CHECK(same(c.get("/v2/big/blobs/" + d).body, data));
}

TEST_CASE("stop closes the listener and open connections", "[server]") {
  running_registry reg;
  auto c = reg.client();
  REQUIRE(c.get("/v2/").status == 200);
  reg->stop();
  // stop() is asynchronous: give the registry's thread a moment.
  http_response r;
  for (int i = 0; i < 50; ++i) {
    try {
      r = c.get("/v2/");
    } catch (const std::exception&) {
      r = {};
      r.complete = false;
    }
    if (!r.complete) break;
    std::this_thread::sleep_for(10ms);
  }
  CHECK_FALSE(r.complete);
  auto fresh = http_client(reg.port());
  CHECK_THROWS(fresh.get("/v2/"));
}

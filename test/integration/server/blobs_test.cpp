// The embedded registry's base endpoint, blob uploads, blob reads and mounts.
#include "support.hpp"

#include <coras/core/digest.hpp>

#include <catch2/catch.hpp>

using namespace coras::test;
using coras::server::registry_options;

namespace {

std::string error_code_of(const http_response& r) {
  auto p = r.body.find("\"code\":\"");
  if (p == std::string::npos) return {};
  p += 8;
  return r.body.substr(p, r.body.find('"', p) - p);
}

}  // namespace

TEST_CASE("ping and unknown paths", "[server]") {
  running_registry reg;
  auto c = reg.client();
  auto r = c.get("/v2/");
  CHECK(r.status == 200);
  CHECK(r.header("Docker-Distribution-Api-Version") == "registry/2.0");
  CHECK(r.body == "{}");
  CHECK(c.request("HEAD", "/v2/").status == 200);

  r = c.get("/v3/");
  CHECK(r.status == 404);
  CHECK(r.body == "404 page not found\n");
  r = c.get("/v2/Upper/manifests/v1");
  CHECK(r.status == 400);
  CHECK(error_code_of(r) == "NAME_INVALID");
  r = c.get("/v2/a/manifests/v1");
  CHECK(r.status == 404);
  CHECK(error_code_of(r) == "NAME_UNKNOWN");
  CHECK(r.body.find(R"("message":"repository name not known to registry")") != std::string::npos);
  CHECK(c.request("POST", "/v2/a/manifests/v1").status == 405);
}

TEST_CASE("a connection that does not speak HTTP gets 400 and a close", "[server]") {
  running_registry reg;
  // The start of a TLS ClientHello (record type 22, TLS 1.0 record version,
  // a handshake of type 1): what Go clients such as crane send first when
  // they probe https on a plain-HTTP port. A bare close reads to them as a
  // network failure and they retry; a 400 says "this is HTTP".
  const std::string client_hello(
      "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"
      "0123456789abcdef0123456789abcdef\x00\x00\x02\x13\x01",
      48);
  auto r = send_raw(reg.port(), client_hello);
  CHECK(r.closed);
  INFO(r.bytes);
  CHECK(r.bytes.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  const auto head_end = r.bytes.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  const auto head = r.bytes.substr(0, head_end + 2);
  CHECK(head.find("\r\nConnection: close\r\n") != std::string::npos);
  const auto body = r.bytes.substr(head_end + 4);
  CHECK(!body.empty());
  CHECK(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") !=
        std::string::npos);

  // A malformed request line after a good request on the same connection too.
  r = send_raw(reg.port(), "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/ HTTP/9\r\n\r\n");
  CHECK(r.closed);
  INFO(r.bytes);
  const auto second = r.bytes.find("HTTP/1.1 ", 1);
  REQUIRE(second != std::string::npos);
  CHECK(r.bytes.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.bytes.compare(second, 26, "HTTP/1.1 400 Bad Request\r\n") == 0);

  // The registry still serves.
  CHECK(reg.client().get("/v2/").status == 200);
}

TEST_CASE("monolithic upload", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(100000);
  const auto d = sha256(data);

  auto r = c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + d, {}, data);
  REQUIRE(r.status == 201);
  CHECK(r.header("Location") == "/v2/lib/app/blobs/" + d);
  CHECK(r.header("Docker-Content-Digest") == d);
  r = c.get("/v2/lib/app/blobs/" + d);
  CHECK(r.status == 200);
  CHECK(same(r.body, data));

  SECTION("wrong digest") {
    const auto other = sha256("something else");
    r = c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + other, {}, data);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
    r = c.get("/v2/lib/app/blobs/" + other);
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UNKNOWN");
  }
  SECTION("malformed digest") {
    r = c.request("POST", "/v2/lib/app/blobs/uploads/?digest=sha256:abc", {}, data);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
  }
  SECTION("sha512") {
    const auto d512 = coras::digest::of(data, coras::digest_algorithm::sha512).str();
    r = c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + d512, {}, data);
    CHECK(r.status == 201);
    r = c.get("/v2/lib/app/blobs/" + d512);
    CHECK(r.status == 200);
    CHECK(same(r.body, data));
  }
  SECTION("empty blob") {
    const auto empty = sha256("");
    CHECK(c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + empty).status == 201);
    r = c.get("/v2/lib/app/blobs/" + empty);
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "0");
  }
}

TEST_CASE("chunked upload", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(3 * 1024 * 1024 + 17, 7);
  const auto d = sha256(data);
  const std::size_t cut = 1024 * 1024;

  auto r = c.request("POST", "/v2/a/b/c/blobs/uploads/");
  REQUIRE(r.status == 202);
  const auto uuid = r.header("Docker-Upload-UUID");
  CHECK(r.header("Location") == "/v2/a/b/c/blobs/uploads/" + uuid);
  CHECK(r.header("Range") == "0-0");
  CHECK(r.header("Content-Length") == "0");
  auto location = r.header("Location");

  r = c.request("PATCH", location, {{"Content-Range", "0-" + std::to_string(cut - 1)}},
                std::string_view(data).substr(0, cut));
  REQUIRE(r.status == 202);
  CHECK(r.header("Range") == "0-" + std::to_string(cut - 1));
  location = r.header("Location");

  r = c.get(location);
  CHECK(r.status == 204);
  CHECK(r.header("Range") == "0-" + std::to_string(cut - 1));
  CHECK(r.header("Docker-Upload-UUID") == uuid);

  // Out of order: 416, nothing appended.
  r = c.request("PATCH", location, {{"Content-Range", "5-9"}}, "abcde");
  CHECK(r.status == 416);
  CHECK(error_code_of(r) == "BLOB_UPLOAD_INVALID");
  CHECK(r.header("Range") == "0-" + std::to_string(cut - 1));

  SECTION("finish with PUT and a last chunk") {
    // Middle part without Content-Range, streamed as chunked transfer coding.
    const std::size_t cut2 = 2 * cut;
    r = c.request("PATCH", location, {}, std::string_view(data).substr(cut, cut2 - cut), true);
    REQUIRE(r.status == 202);
    CHECK(r.header("Range") == "0-" + std::to_string(cut2 - 1));
    r = c.request("PUT", r.header("Location") + "?digest=" + d, {},
                  std::string_view(data).substr(cut2));
    REQUIRE(r.status == 201);
    CHECK(r.header("Location") == "/v2/a/b/c/blobs/" + d);
    CHECK(r.header("Docker-Content-Digest") == d);
    r = c.get("/v2/a/b/c/blobs/" + d);
    CHECK(r.status == 200);
    CHECK(same(r.body, data));
    // The session is over.
    CHECK(c.get(location).status == 404);
  }
  SECTION("wrong digest drops the upload") {
    r = c.request("PUT", location + "?digest=" + sha256("nope"), {},
                  std::string_view(data).substr(cut));
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
    r = c.get(location);
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
  }
  SECTION("cancel") {
    CHECK(c.request("DELETE", location).status == 204);
    CHECK(c.get(location).status == 404);
  }
  SECTION("PUT without digest") {
    r = c.request("PUT", location);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
  }
  SECTION("Content-Range that disagrees with Content-Length") {
    r = c.request("PATCH", location,
                  {{"Content-Range", std::to_string(cut) + "-" + std::to_string(cut + 9)}}, "abc");
    CHECK(r.status == 400);
  }
}

TEST_CASE("unknown upload session", "[server]") {
  running_registry reg;
  auto c = reg.client();
  for (const char* method : {"GET", "PATCH", "PUT", "DELETE"}) {
    auto r = c.request(method, "/v2/x/blobs/uploads/no-such-session?digest=" + sha256(""));
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
  }
}

TEST_CASE("blob GET, HEAD, Range and DELETE", "[server]") {
  registry_options o;
  const bool ranges = GENERATE(true, false);
  o.range_requests = ranges;
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = "0123456789abcdefghij";
  const auto d = push_blob(c, "r", data);
  const std::string url = "/v2/r/blobs/" + d;

  auto r = c.request("HEAD", url);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == "20");
  CHECK(r.header("Docker-Content-Digest") == d);
  CHECK(r.header("Content-Type") == "application/octet-stream");
  CHECK(r.body.empty());
  CHECK(r.has_header("Accept-Ranges") == ranges);
  if (ranges) CHECK(r.header("Accept-Ranges") == "bytes");

  r = c.get(url, {{"Range", "bytes=2-5"}});
  if (!ranges) {
    CHECK(r.status == 200);
    CHECK(same(r.body, data));
    CHECK_FALSE(r.has_header("Content-Range"));
    return;
  }
  CHECK(r.status == 206);
  CHECK(r.body == "2345");
  CHECK(r.header("Content-Range") == "bytes 2-5/20");
  CHECK(r.header("Content-Length") == "4");

  r = c.get(url, {{"Range", "bytes=15-"}});
  CHECK(r.status == 206);
  CHECK(r.body == "fghij");
  CHECK(r.header("Content-Range") == "bytes 15-19/20");
  r = c.get(url, {{"Range", "bytes=-3"}});
  CHECK(r.status == 206);
  CHECK(r.body == "hij");
  r = c.get(url, {{"Range", "bytes=10-100"}});
  CHECK(r.status == 206);
  CHECK(r.header("Content-Range") == "bytes 10-19/20");
  r = c.get(url, {{"Range", "bytes=20-"}});
  CHECK(r.status == 416);
  CHECK(r.header("Content-Range") == "bytes */20");
  CHECK(r.body.empty());
  r = c.get(url, {{"Range", "bytes=1-2,5-6"}});  // multipart: served whole
  CHECK(r.status == 200);

  CHECK(c.request("DELETE", url).status == 202);
  r = c.get(url);
  CHECK(r.status == 404);
  CHECK(error_code_of(r) == "BLOB_UNKNOWN");
  CHECK(c.request("DELETE", url).status == 404);
}

TEST_CASE("cross-repository mount", "[server]") {
  registry_options o;
  const bool mount = GENERATE(true, false);
  o.mount = mount;
  running_registry reg(o);
  auto c = reg.client();
  const auto d = push_blob(c, "src/repo", "shared layer");

  auto r = c.request("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=src/repo");
  if (mount) {
    CHECK(r.status == 201);
    CHECK(r.header("Location") == "/v2/dst/blobs/" + d);
    CHECK(r.header("Docker-Content-Digest") == d);
    CHECK(c.get("/v2/dst/blobs/" + d).body == "shared layer");
  } else {
    CHECK(r.status == 202);
    CHECK(r.header("Location").starts_with("/v2/dst/blobs/uploads/"));
    CHECK(c.get("/v2/dst/blobs/" + d).status == 404);
  }

  // Not in `from`: a fresh session.
  r = c.request("POST", "/v2/dst/blobs/uploads/?mount=" + sha256("absent") + "&from=src/repo");
  CHECK(r.status == 202);
  CHECK(r.header("Range") == "0-0");
  CHECK(!r.header("Docker-Upload-UUID").empty());
}

TEST_CASE("Expect: 100-continue upload", "[server]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(200000, 3);
  const auto d = sha256(data);
  auto r =
      c.request("POST", "/v2/e/blobs/uploads/?digest=" + d, {{"Expect", "100-continue"}}, data);
  CHECK(r.status == 201);
  CHECK(same(c.get("/v2/e/blobs/" + d).body, data));
}

TEST_CASE("uploads to disk storage", "[server]") {
  temp_dir dir;
  registry_options o;
  o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = random_bytes(2 * 1024 * 1024 + 5, 11);
  const auto d = sha256(data);

  auto r = c.request("POST", "/v2/disk/blobs/uploads/");
  r = c.request("PATCH", r.header("Location"), {}, std::string_view(data).substr(0, 1000000));
  REQUIRE(r.status == 202);
  // Nothing in blobs/ until the digest is verified.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "blobs" / "sha256" / d.substr(7)));
  r = c.request("PUT", r.header("Location") + "?digest=" + d, {},
                std::string_view(data).substr(1000000));
  REQUIRE(r.status == 201);
  CHECK(std::filesystem::file_size(dir.path() / "blobs" / "sha256" / d.substr(7)) == data.size());
  CHECK(std::filesystem::is_empty(dir.path() / "uploads"));

  r = c.get("/v2/disk/blobs/" + d);
  CHECK(r.status == 200);
  CHECK(same(r.body, data));
  r = c.get("/v2/disk/blobs/" + d, {{"Range", "bytes=1000-1999"}});
  CHECK(r.status == 206);
  CHECK(same(r.body, data.substr(1000, 1000)));
  r = c.request("HEAD", "/v2/disk/blobs/" + d);
  CHECK(r.header("Content-Length") == std::to_string(data.size()));
}

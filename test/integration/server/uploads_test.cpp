// The embedded registry's chunked-upload protocol as a resuming client sees
// it, and the upload faults: cut_uploads and drop_upload_sessions.
#include "support.hpp"

#include <coras/core/digest.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

using namespace coras::test;
using coras::server::registry_options;

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

std::string error_code_of(const http_response& r) {
  auto p = r.body.find("\"code\":\"");
  if (p == std::string::npos) return {};
  p += 8;
  return r.body.substr(p, r.body.find('"', p) - p);
}

// `Content-Range: first-last` for `size` bytes at `first`.
header_list content_range(std::size_t first, std::size_t size) {
  return {{"Content-Range", std::to_string(first) + "-" + std::to_string(first + size - 1)}};
}

// A request the registry never answered: no status, the connection gone.
bool cut(const http_response& r) { return r.status == 0 && !r.complete && !r.error.empty(); }

// Starts a session in `repo`; returns its Location.
std::string start(http_client& c, std::string_view repo) {
  auto r = c.request("POST", "/v2/" + std::string(repo) + "/blobs/uploads/");
  REQUIRE(r.status == 202);
  REQUIRE(!r.header("Location").empty());
  return r.header("Location");
}

// The session's Range as the status GET reports it ("" when not 204).
std::string range_of(http_client& c, const std::string& location) {
  auto r = c.get(location);
  return r.status == 204 ? r.header("Range") : "status " + std::to_string(r.status);
}

}  // namespace

TEST_CASE("upload protocol as distribution answers it", "[server][uploads]") {
  running_registry reg;
  auto c = reg.client();

  auto r = c.request("POST", "/v2/u/blobs/uploads/");
  REQUIRE(r.status == 202);
  const auto uuid = r.header("Docker-Upload-UUID");
  CHECK(r.header("Location") == "/v2/u/blobs/uploads/" + uuid);
  CHECK(r.header("Range") == "0-0");  // empty: "0-0", as distribution says
  const auto location = r.header("Location");

  r = c.get(location);
  CHECK(r.status == 204);
  CHECK(r.header("Range") == "0-0");
  CHECK(r.header("Location") == location);
  CHECK(r.header("Docker-Upload-UUID") == uuid);
  CHECK(r.body.empty());

  // One byte is "0-0" too: the convention cannot tell 0 from 1 byte.
  r = c.request("PATCH", location, content_range(0, 1), "x");
  CHECK(r.status == 202);
  CHECK(r.header("Range") == "0-0");
  CHECK(r.header("Content-Length") == "0");
  // Content-Range must start at the offset: 416 with the session's state.
  r = c.request("PATCH", location, content_range(0, 1), "x");
  CHECK(r.status == 416);
  CHECK(error_code_of(r) == "BLOB_UPLOAD_INVALID");
  CHECK(r.header("Range") == "0-0");
  CHECK(r.header("Location") == location);
  r = c.request("PATCH", location, content_range(2, 1), "x");
  CHECK(r.status == 416);
  // Content-Length disagreeing with Content-Range: 400 SIZE_INVALID.
  r = c.request("PATCH", location, content_range(1, 5), "abc");
  CHECK(r.status == 400);
  CHECK(error_code_of(r) == "SIZE_INVALID");
  CHECK(range_of(c, location) == "0-0");  // nothing appended by refused requests
  // Without Content-Range the body is appended.
  r = c.request("PATCH", location, {}, "yz");
  CHECK(r.status == 202);
  CHECK(r.header("Range") == "0-2");
  // The final PUT may carry Content-Range for its chunk too.
  r = c.request("PUT", location + "?digest=" + sha256("xyz!"), content_range(3, 1), "!");
  CHECK(r.status == 201);
  CHECK(r.header("Docker-Content-Digest") == sha256("xyz!"));
  CHECK(c.get("/v2/u/blobs/" + sha256("xyz!")).body == "xyz!");
  r = c.get(location);
  CHECK(r.status == 404);
  CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
}

TEST_CASE("fault: upload PATCH cut mid-body, then resumed", "[server][uploads][hooks]") {
  temp_dir dir;
  registry_options o;
  const bool disk = GENERATE(false, true);
  if (disk) o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = random_bytes(MiB, 11);
  const auto d = sha256(data);
  const std::size_t at = 300 * KiB;

  const auto location = start(c, "res/ume");
  reg->cut_uploads(at);
  auto r = c.request("PATCH", location, content_range(0, data.size()), data);
  INFO("cut PATCH: status " << r.status << ", error " << r.error);
  CHECK(cut(r));

  // Logged with status 0.
  const auto log = reg->recent_requests();
  REQUIRE(!log.empty());
  CHECK(log.back().method == "PATCH");
  CHECK(log.back().target == location);
  CHECK(log.back().status == 0);
  CHECK(log.back().header("Content-Length") == std::to_string(data.size()));

  // What arrived before the cut is kept.
  r = c.get(location);
  CHECK(r.status == 204);
  CHECK(r.header("Range") == "0-307199");
  CHECK(r.header("Location") == location);

  // A resume at the wrong offset: 416, nothing appended.
  r = c.request("PATCH", location, content_range(0, data.size()), data);
  CHECK(r.status == 416);
  CHECK(r.header("Range") == "0-307199");

  // The cut is spent: the rest goes through.
  r = c.request("PATCH", location, content_range(at, data.size() - at),
                std::string_view(data).substr(at));
  REQUIRE(r.status == 202);
  CHECK(r.header("Range") == "0-" + std::to_string(data.size() - 1));
  r = c.request("PUT", r.header("Location") + "?digest=" + d);
  REQUIRE(r.status == 201);
  CHECK(r.header("Docker-Content-Digest") == d);
  CHECK(r.header("Location") == "/v2/res/ume/blobs/" + d);

  r = c.get("/v2/res/ume/blobs/" + d);
  CHECK(r.status == 200);
  CHECK(r.header("Docker-Content-Digest") == d);
  CHECK(sha256(r.body) == d);
  CHECK(same(r.body, data));
  if (disk) CHECK(std::filesystem::is_empty(dir.path() / "uploads"));
}

TEST_CASE("fault: upload cuts, one offset per request", "[server][uploads][hooks]") {
  running_registry reg;
  auto c = reg.client();
  const std::string data = random_bytes(700 * KiB, 12);
  const auto d = sha256(data);
  const auto location = start(c, "multi");

  // A request without a body is never cut and does not use up a cut.
  reg->cut_uploads(std::vector<std::uint64_t>{100, 200000});
  CHECK(c.get(location).status == 204);
  CHECK(c.request("PATCH", location).status == 202);

  // Chunked transfer coding is cut the same way.
  auto r = c.request("PATCH", location, {}, data, true);
  CHECK(cut(r));
  CHECK(range_of(c, location) == "0-99");
  r = c.request("PATCH", location, content_range(100, data.size() - 100),
                std::string_view(data).substr(100));
  CHECK(cut(r));
  CHECK(range_of(c, location) == "0-200099");

  SECTION("a cut PUT commits nothing") {
    reg->cut_uploads(1000, 1);
    r = c.request("PUT", location + "?digest=" + d, {}, std::string_view(data).substr(200100));
    CHECK(cut(r));
    CHECK(range_of(c, location) == "0-201099");
    CHECK(c.request("HEAD", "/v2/multi/blobs/" + d).status == 404);
    r = c.request("PUT", location + "?digest=" + d, {}, std::string_view(data).substr(201100));
    CHECK(r.status == 201);
    CHECK(same(c.get("/v2/multi/blobs/" + d).body, data));
  }
  SECTION("a body shorter than the cut is stored whole, the response lost") {
    reg->cut_uploads(std::vector<std::uint64_t>{MiB, 5, MiB});
    r = c.request("PATCH", location, {}, std::string_view(data).substr(200100, 10));
    CHECK(cut(r));
    CHECK(range_of(c, location) == "0-200109");
    CHECK(c.request("PATCH", location).status == 202);  // no body: not cut
    // A body of exactly the cut's size: the same.
    r = c.request("PATCH", location, {}, std::string_view(data).substr(200110, 5));
    CHECK(cut(r));
    CHECK(range_of(c, location) == "0-200114");
    reg->clear_faults();  // the third cut is gone
    r = c.request("PUT", location + "?digest=" + d, {}, std::string_view(data).substr(200115));
    CHECK(r.status == 201);
    CHECK(same(c.get("/v2/multi/blobs/" + d).body, data));
  }
  SECTION("a cut at 0 stores nothing; refused requests do not use up a cut") {
    reg->cut_uploads(0, 1);
    r = c.request("PATCH", location, content_range(7, 3), "abc");
    CHECK(r.status == 416);
    r = c.request("PATCH", "/v2/multi/blobs/uploads/nope", {}, "abc");
    CHECK(r.status == 404);
    r = c.request("PATCH", location, {}, std::string_view(data).substr(200100));
    CHECK(cut(r));
    CHECK(range_of(c, location) == "0-200099");
    r = c.request("PATCH", location, {}, std::string_view(data).substr(200100));
    CHECK(r.status == 202);
    CHECK(c.request("PUT", location + "?digest=" + d).status == 201);
  }
  SECTION("clear_faults removes pending cuts") {
    reg->cut_uploads(10, 3);
    reg->clear_faults();
    r = c.request("PATCH", location, {}, std::string_view(data).substr(200100));
    CHECK(r.status == 202);
    CHECK(c.request("PUT", location + "?digest=" + d).status == 201);
  }
}

TEST_CASE("fault: monolithic uploads are never cut", "[server][uploads][hooks]") {
  running_registry reg;
  auto c = reg.client();
  reg->cut_uploads(10, 1);
  const std::string data = random_bytes(1000, 13);
  CHECK(c.request("POST", "/v2/mono/blobs/uploads/?digest=" + sha256(data), {}, data).status ==
        201);
  // The cut is still pending for the next PATCH.
  const auto location = start(c, "mono");
  CHECK(cut(c.request("PATCH", location, {}, data)));
  CHECK(range_of(c, location) == "0-9");
}

TEST_CASE("fault: the registry loses its upload sessions", "[server][uploads][hooks]") {
  temp_dir dir;
  registry_options o;
  const bool disk = GENERATE(false, true);
  if (disk) o.root = dir.path();
  running_registry reg(o);
  auto c = reg.client();
  const std::string data = random_bytes(100 * KiB, 14);
  const auto d = sha256(data);

  const auto a = start(c, "lost");
  const auto b = start(c, "lost/too");
  REQUIRE(c.request("PATCH", a, content_range(0, 1000), std::string_view(data).substr(0, 1000))
              .status == 202);
  if (disk) CHECK_FALSE(std::filesystem::is_empty(dir.path() / "uploads"));

  CHECK(reg->drop_upload_sessions() == 2);
  for (const auto& location : {a, b}) {
    auto r = c.get(location);
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
    r = c.request("PATCH", location, content_range(1000, 10), std::string_view(data).substr(0, 10));
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
    r = c.request("PUT", location + "?digest=" + d, {}, data);
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "BLOB_UPLOAD_UNKNOWN");
    CHECK(c.request("DELETE", location).status == 404);
  }
  if (disk) CHECK(std::filesystem::is_empty(dir.path() / "uploads"));
  CHECK(reg->drop_upload_sessions() == 0);

  // The client restarts: a new session works (on the same connection).
  const auto again = start(c, "lost");
  CHECK(c.request("PATCH", again, content_range(0, data.size()), data).status == 202);
  CHECK(c.request("PUT", again + "?digest=" + d).status == 201);
  CHECK(same(c.get("/v2/lost/blobs/" + d).body, data));
}

TEST_CASE("uploads with digest-algorithm=sha512, in memory and on disk", "[server][uploads]") {
  temp_dir dir;
  registry_options on_disk;
  on_disk.root = dir.path();
  for (const auto& o : {registry_options{}, on_disk}) {
    INFO((o.root.empty() ? "memory" : "disk"));
    running_registry reg(o);
    auto c = reg.client();
    const std::string data = random_bytes(300'000, 21);
    const auto d512 = coras::digest::of(data, coras::digest_algorithm::sha512).str();
    const auto d256 = sha256(data);

    // Chunked, completed with the sha512 digest named at the POST.
    auto r = c.request("POST", "/v2/alg/blobs/uploads/?digest-algorithm=sha512");
    REQUIRE(r.status == 202);
    r = c.request("PATCH", r.header("Location"), {}, std::string_view(data).substr(0, 100'000));
    REQUIRE(r.status == 202);
    r = c.request("PUT", r.header("Location") + "?digest=" + d512, {},
                  std::string_view(data).substr(100'000));
    REQUIRE(r.status == 201);
    CHECK(r.header("Docker-Content-Digest") == d512);
    CHECK(r.header("Location") == "/v2/alg/blobs/" + d512);
    r = c.get("/v2/alg/blobs/" + d512);
    CHECK(r.status == 200);
    CHECK(same(r.body, data));

    // A wrong sha512 is refused, and nothing is stored under it.
    const auto other = coras::digest::of(std::string("other"), coras::digest_algorithm::sha512);
    r = c.request("POST", "/v2/alg/blobs/uploads/?digest-algorithm=sha512");
    r = c.request("PUT", r.header("Location") + "?digest=" + other.str(), {}, data);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
    CHECK(r.body.find(d512) != std::string::npos);  // what the bytes hash to
    CHECK(c.get("/v2/alg/blobs/" + other.str()).status == 404);

    // Named sha512, completed with sha256: still verified (a second pass).
    r = c.request("POST", "/v2/alg/blobs/uploads/?digest-algorithm=sha512");
    r = c.request("PUT", r.header("Location") + "?digest=" + d256, {}, data);
    CHECK(r.status == 201);

    // sha256 named explicitly is the default.
    r = c.request("POST", "/v2/alg/blobs/uploads/?digest-algorithm=sha256");
    CHECK(r.status == 202);

    // An algorithm the registry does not implement: 400, no session.
    r = c.request("POST", "/v2/alg/blobs/uploads/?digest-algorithm=md5");
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "DIGEST_INVALID");
    CHECK(r.body.find("digest-algorithm") != std::string::npos);
    CHECK_FALSE(r.has_header("Location"));
  }
}

// The pull-through cache (coras::mirror) in front of an embedded registry as
// its upstream, in-process: misses fetched, stored and served; one upstream
// fetch per blob for 64 concurrent clients (the upstream's request log
// counts them); an upstream cut mid-blob; an upstream serving wrong bytes;
// tag TTL, refused pushes, listings passed through, limits and metrics.
#include <coras_test/random_bytes.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <span>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using coras::descriptor;
using coras::errc;
using coras::http::client;
using coras::mirror::mirror_options;
using coras::mirror::upstream_cache;
using coras::remote::repository;
using coras::server::registry;
using coras::server::registry_options;
using coras::test::random_bytes;
using coras::test::read_streamed;
using coras::test::run_all;
using coras::test::temp_dir;

namespace {

constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

struct env {
  asio::any_io_executor ex;
  registry& up;
  registry& mirror;
  upstream_cache& cache;
};

// An upstream registry, a mirror of it (stored under `mirror_root`, in
// memory when empty), and `body(env)` on one io_context.
template <class Body>
void with_mirror(registry_options up_opts, mirror_options m, Body body,
                 const fs::path& mirror_root = {}) {
  asio::io_context ioc;
  up_opts.request_log_capacity = 16384;
  registry up(ioc.get_executor(), up_opts);
  up.start();
  m.upstream = "http://" + up.host() + m.upstream;
  registry_options mo;
  mo.root = mirror_root;
  auto cache = coras::mirror::attach(mo, client(ioc.get_executor()), m);
  registry mir(ioc.get_executor(), mo);
  mir.start();
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> awaitable<void> {
        try {
          env e{ioc.get_executor(), up, mir, *cache};
          co_await body(e);
        } catch (...) {
          failure = std::current_exception();
        }
        mir.stop();
        up.stop();
      },
      asio::detached);
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

// Delays the next `count` blob GETs of `upstream`: `mid_body` after half the
// body, `before_headers` before the head; keeps fetches in flight while
// clients arrive.
void slow_blob_gets(registry& upstream, std::chrono::milliseconds mid_body, unsigned count,
                    std::chrono::milliseconds before_headers = std::chrono::milliseconds(0)) {
  coras::server::delay_fault slow;
  slow.before_headers = before_headers;
  slow.mid_body = mid_body;
  slow.count = count;
  slow.path_contains = "/blobs/";
  upstream.inject_delay(slow);
}

repository repo_at(const client& c, const registry& r, const std::string& name) {
  coras::remote::repository_options o;
  o.plain_http = true;
  return repository(c, r.host() + "/" + name, o);
}

struct image {
  descriptor manifest;
  std::vector<descriptor> layers;
  std::vector<std::string> bytes;
};

// Pushes `count` random layers of `size` bytes and an image manifest tagged `tag`.
awaitable<image> push_image(repository& repo, const char* tag, int count, std::size_t size,
                            unsigned seed) {
  image img;
  for (int i = 0; i < count; ++i) {
    img.bytes.push_back(random_bytes(size, seed + static_cast<unsigned>(i)));
    const std::string type = "application/vnd.oci.image.layer.v1.tar";
    img.layers.push_back(co_await repo.async_push_bytes(type, img.bytes.back()));
  }
  const std::string empty_type(coras::media_type::oci_empty);
  const std::string empty(coras::empty_json);
  co_await repo.async_push_bytes(empty_type, empty);
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  m.layers = img.layers;
  auto json = m.to_json();
  img.manifest = descriptor::for_content(coras::media_type::oci_manifest, json);
  const std::string name = tag;
  co_await repo.async_push_reference(img.manifest, coras::memory_source(json), name);
  co_return img;
}

// Pulls `tag` of `repo` and checks every byte against `img`.
awaitable<void> pull_and_check(repository& repo, const char* tag, const image& img) {
  const std::string name = tag;
  auto desc = co_await repo.async_resolve(name);
  REQUIRE(desc.digest == img.manifest.digest);
  auto json = co_await repo.async_fetch_bytes(desc);
  auto m = coras::image_manifest::parse(json);
  REQUIRE(m.layers.size() == img.layers.size());
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    auto reader = co_await repo.async_fetch(m.layers[i]);
    auto got = co_await read_streamed(reader);
    REQUIRE(got.size() == img.bytes[i].size());
    REQUIRE(coras::digest::of(got) == coras::digest::of(img.bytes[i]));
  }
}

// Upstream GETs of blob `d` that sent a body (200 or 206).
std::size_t upstream_gets(const registry& up, const coras::digest& d) {
  std::size_t n = 0;
  for (const auto& r : up.recent_requests())
    if (r.method == "GET" && r.target.find("/blobs/" + d.str()) != std::string::npos &&
        (r.status == 200 || r.status == 206))
      ++n;
  return n;
}

std::size_t upstream_requests(const registry& up, std::string_view method, std::string_view part) {
  std::size_t n = 0;
  for (const auto& r : up.recent_requests())
    if (r.method == method && r.target.find(part) != std::string::npos) ++n;
  return n;
}

struct raw_result {
  unsigned status = 0;
  bool complete = false;  // the whole body arrived
  std::string body;
};

awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// A GET that verifies nothing: what a naive client would take. The body is
// read `late` after the response head arrived.
awaitable<raw_result> raw_get(client c, std::string url, const char* method = "GET",
                              std::chrono::milliseconds late = {}) {
  coras::http::request req;
  req.method = method;
  req.url = std::move(url);
  req.retryable = false;
  raw_result out;
  auto [ec, resp] = co_await c.async_send(req, tuple);
  if (ec) co_return out;
  out.status = resp.status();
  if (late.count() > 0) co_await sleep_for(late);
  auto [rec, body] = co_await resp.async_read_all(std::uint64_t{1} << 30, tuple);
  out.complete = !rec;
  out.body = std::move(body);
  co_return out;
}

}  // namespace

TEST_CASE("mirror: a miss is fetched upstream, stored and served; the next pull is a hit",
          "[mirror]") {
  with_mirror({}, {}, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "lib/app");
    auto img = co_await push_image(up, "v1", 3, 300'000, 1);
    e.up.clear_request_log();

    auto through = repo_at(c, e.mirror, "lib/app");
    co_await pull_and_check(through, "v1", img);
    for (const auto& l : img.layers) CHECK(upstream_gets(e.up, l.digest) == 1);
    CHECK(upstream_requests(e.up, "GET", "/manifests/v1") == 1);
    auto s = e.cache.stats();
    CHECK(s.upstream_fetches == 3);
    CHECK(s.upstream_bytes >= 3 * 300'000);

    // Stored: the same pull again asks the upstream nothing (the tag is fresh,
    // digests are immutable).
    e.up.clear_request_log();
    co_await pull_and_check(through, "v1", img);
    CHECK(e.up.recent_requests().empty());
    CHECK(e.cache.stats().hits == 3);
    CHECK(e.cache.stats().upstream_fetches == 3);

    // Absent upstream: the upstream's 404 with its code.
    auto missing = co_await raw_get(c, e.mirror.url() + "/v2/lib/app/manifests/nope");
    CHECK(missing.status == 404);
    CHECK(missing.body.find("MANIFEST_UNKNOWN") != std::string::npos);
    const auto absent = coras::digest::of(std::string("absent"));
    auto blob = co_await raw_get(c, e.mirror.url() + "/v2/lib/app/blobs/" + absent.str());
    CHECK(blob.status == 404);
    CHECK(blob.body.find("BLOB_UNKNOWN") != std::string::npos);
  });
}

TEST_CASE("mirror: NAMESPACE in the upstream URL prefixes upstream names", "[mirror]") {
  mirror_options m;
  m.upstream = "/library";
  with_mirror({}, m, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "library/alpine");
    auto img = co_await push_image(up, "3", 1, 1000, 7);
    auto through = repo_at(c, e.mirror, "alpine");
    co_await pull_and_check(through, "3", img);
    CHECK(upstream_requests(e.up, "GET", "/v2/library/alpine/manifests/3") == 1);
  });
}

TEST_CASE("mirror: 64 concurrent clients of cold blobs cause one upstream fetch per blob",
          "[mirror]") {
  with_mirror({}, {}, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "cold/image");
    auto img = co_await push_image(up, "v1", 8, 1024 * 1024, 100);
    e.up.clear_request_log();
    // Slow upstream bodies: every client arrives while the blobs are in flight.
    slow_blob_gets(e.up, std::chrono::milliseconds(300), 100, std::chrono::milliseconds(100));

    std::vector<client> clients;
    for (int i = 0; i < 64; ++i) clients.emplace_back(e.ex);
    std::vector<awaitable<void>> pulls;
    for (auto& cl : clients)
      pulls.push_back([](const client& cl, registry& mir, const image& img) -> awaitable<void> {
        auto r = repo_at(cl, mir, "cold/image");
        co_await pull_and_check(r, "v1", img);
      }(cl, e.mirror, img));
    co_await run_all(std::move(pulls));

    for (const auto& l : img.layers) CHECK(upstream_gets(e.up, l.digest) == 1);
    CHECK(upstream_requests(e.up, "GET", "/manifests/v1") == 1);
    const auto s = e.cache.stats();
    CHECK(s.upstream_fetches == 8);
    CHECK(s.upstream_bytes < 9ull * 1024 * 1024);  // 8 blobs + manifests, not 64x
    CHECK(s.bytes_served >= 64ull * 8 * 1024 * 1024);
    CHECK(s.in_flight == 0);
  });
}

TEST_CASE("mirror: an upstream cut mid-blob is resumed; every client gets the right bytes",
          "[mirror]") {
  with_mirror({}, {}, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "cut/image");
    auto img = co_await push_image(up, "v1", 1, 3 * 1024 * 1024, 200);
    e.up.clear_request_log();
    e.up.cut_blob_gets(1024 * 1024, 1);
    slow_blob_gets(e.up, std::chrono::milliseconds(200), 5);

    std::vector<client> clients;
    for (int i = 0; i < 8; ++i) clients.emplace_back(e.ex);
    std::vector<awaitable<void>> pulls;
    for (auto& cl : clients)
      pulls.push_back([](const client& cl, registry& mir, const image& img) -> awaitable<void> {
        auto r = repo_at(cl, mir, "cut/image");
        co_await pull_and_check(r, "v1", img);
      }(cl, e.mirror, img));
    co_await run_all(std::move(pulls));

    // One fetch: the first GET was cut, the resumed one asked for the rest.
    CHECK(upstream_gets(e.up, img.layers[0].digest) == 2);
    bool resumed = false;
    for (const auto& r : e.up.recent_requests())
      if (r.status == 206) {
        UNSCOPED_INFO("resumed with " << r.header("range"));
        resumed =
            r.header("range").starts_with("bytes=") && !r.header("range").starts_with("bytes=0-");
      }
    CHECK(resumed);
    CHECK(e.cache.stats().upstream_fetches == 1);
  });
}

TEST_CASE("mirror: an upstream serving a wrong blob: no client gets a success, nothing is stored",
          "[mirror]") {
  temp_dir root;
  registry_options uo;
  uo.root = root.path();
  with_mirror(uo, {}, [&root](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "bad/image");
    auto img = co_await push_image(up, "v1", 1, 1024 * 1024, 300);
    const auto& d = img.layers[0].digest;
    // Same size, other bytes, under the blob's name in the upstream's storage.
    const auto file = root.path() / "blobs" / "sha256" / std::string(d.hex());
    REQUIRE(fs::exists(file));
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << random_bytes(1024 * 1024, 999);
    }
    slow_blob_gets(e.up, std::chrono::milliseconds(200), 1);

    std::vector<client> clients;
    for (int i = 0; i < 16; ++i) clients.emplace_back(e.ex);
    std::vector<raw_result> results(clients.size());
    std::vector<awaitable<void>> gets;
    const auto url = e.mirror.url() + "/v2/bad/image/blobs/" + d.str();
    for (std::size_t i = 0; i < clients.size(); ++i)
      gets.push_back([](const client& cl, std::string url, raw_result& out) -> awaitable<void> {
        out = co_await raw_get(cl, url);
      }(clients[i], url, results[i]));
    co_await run_all(std::move(gets));
    for (const auto& r : results) {
      CHECK_FALSE((r.status == 200 && r.complete));
      CHECK(r.body.size() < 1024 * 1024);
    }
    CHECK(e.cache.stats().failed_fetches == 1);
    CHECK(e.cache.stats().upstream_fetches == 1);

    // Nothing was stored: once the upstream is right again, the blob is
    // fetched again and served whole.
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << img.bytes[0];
    }
    e.up.clear_request_log();
    auto through = repo_at(c, e.mirror, "bad/image");
    auto reader = co_await through.async_fetch(img.layers[0]);
    const auto again = co_await read_streamed(reader);
    CHECK(again.size() == img.bytes[0].size());
    CHECK(coras::digest::of(again).str() == d.str());
    CHECK(coras::digest::of(img.bytes[0]).str() == d.str());
    CHECK(upstream_gets(e.up, d) == 1);
  });
}

TEST_CASE(
    "mirror: a blob in flight is held in memory only up to max_flight_buffer_bytes; "
    "clients behind it read what the store wrote",
    "[mirror]") {
  const bool on_disk = GENERATE(false, true);
  INFO("mirror store " << (on_disk ? "on disk" : "in memory"));
  temp_dir root;
  static constexpr std::uint64_t window = 64 * 1024;
  static constexpr std::size_t blob_size = 4 * 1024 * 1024;
  mirror_options m;
  m.max_flight_buffer_bytes = window;
  with_mirror(
      {}, m,
      [](env& e) -> awaitable<void> {
        client c(e.ex);
        auto up = repo_at(c, e.up, "big/image");
        auto img = co_await push_image(up, "v1", 1, blob_size, 500);
        const auto& d = img.layers[0].digest;
        // The upstream pauses after half the blob: the fetch is still running
        // when the late client comes.
        slow_blob_gets(e.up, std::chrono::milliseconds(500), 1);

        const auto url = e.mirror.url() + "/v2/big/image/blobs/" + d.str();
        std::vector<client> clients;
        for (int i = 0; i < 6; ++i) clients.emplace_back(e.ex);
        std::vector<raw_result> results(clients.size());
        std::vector<awaitable<void>> gets;
        // Four clients read as the bytes arrive, one reads its body only
        // after 700 ms (past the upstream's pause).
        for (std::size_t i = 0; i < 4; ++i)
          gets.push_back([](const client& cl, std::string url, raw_result& out) -> awaitable<void> {
            out = co_await raw_get(cl, url);
          }(clients[i], url, results[i]));
        gets.push_back([](const client& cl, std::string url, raw_result& out) -> awaitable<void> {
          out = co_await raw_get(cl, url, "GET", std::chrono::milliseconds(700));
        }(clients[4], url, results[4]));
        // The last asks once 1 MiB came from upstream: bytes 0.. left the
        // flight's memory long ago.
        bool joined_in_flight = false;
        gets.push_back([](const client& cl, std::string url, upstream_cache& cache, raw_result& out,
                          bool& joined) -> awaitable<void> {
          for (int i = 0; i < 2000 && cache.stats().upstream_bytes < 1024 * 1024; ++i)
            co_await sleep_for(std::chrono::milliseconds(5));
          joined = cache.stats().in_flight == 1;
          out = co_await raw_get(cl, url);
        }(clients[5], url, e.cache, results[5], joined_in_flight));
        co_await run_all(std::move(gets));

        CHECK(joined_in_flight);
        for (const auto& r : results) {
          CHECK(r.status == 200);
          CHECK(r.complete);
          CHECK(r.body.size() == blob_size);
          CHECK(coras::digest::of(r.body) == d);
        }
        const auto s = e.cache.stats();
        CHECK(s.upstream_fetches == 1);
        CHECK(s.upstream_bytes == blob_size);
        // Never more than the window and the piece arriving (256 KiB), where
        // keeping every chunk would have held the whole blob.
        INFO("buffered_bytes_peak " << s.buffered_bytes_peak);
        CHECK(s.buffered_bytes_peak > 0);
        CHECK(s.buffered_bytes_peak <= window + 256 * 1024);
        CHECK(s.buffered_bytes == 0);
        auto metrics = co_await raw_get(c, e.mirror.url() + "/metrics");
        CHECK(metrics.body.find("coras_mirror_buffered_bytes_peak " +
                                std::to_string(s.buffered_bytes_peak)) != std::string::npos);

        // Stored whole: the next GET is a hit with the same bytes.
        auto again = co_await raw_get(c, url);
        CHECK(again.status == 200);
        CHECK(coras::digest::of(again.body) == d);
        CHECK(e.cache.stats().hits == 1);
      },
      on_disk ? root.path() : fs::path());
}

namespace {

// A store whose writer fails once `room` bytes were appended (a full disk);
// the bytes appended before stay readable.
class full_disk_sink final : public coras::server::content_sink {
 public:
  explicit full_disk_sink(std::size_t room) : room_(room) {}
  class writer final : public blob_writer {
   public:
    writer(full_disk_sink& sink) : sink_(sink) {}
    bool append(std::string_view bytes) override {
      std::lock_guard lock(sink_.m_);
      if (sink_.bytes_.size() + bytes.size() > sink_.room_) return false;
      sink_.bytes_.append(bytes);
      return true;
    }
    bool commit(const coras::digest&) override {
      sink_.committed_ = true;
      return true;
    }
    std::size_t read_at(std::uint64_t offset, std::span<char> out) override {
      std::lock_guard lock(sink_.m_);
      if (offset >= sink_.bytes_.size()) return 0;
      const auto n = std::min<std::size_t>(out.size(), sink_.bytes_.size() - offset);
      std::memcpy(out.data(), sink_.bytes_.data() + offset, n);
      return n;
    }

   private:
    full_disk_sink& sink_;
  };
  std::unique_ptr<blob_writer> begin_blob(std::string_view) override {
    return std::make_unique<writer>(*this);
  }
  bool put_manifest(std::string_view, std::string_view, std::shared_ptr<const std::string>,
                    const coras::digest&, std::string_view, std::string*) override {
    return false;
  }
  bool has_manifest(std::string_view, std::string_view) override { return false; }
  bool remove_blob(std::string_view, const coras::digest&) override { return false; }
  bool committed() const { return committed_; }

 private:
  std::mutex m_;
  std::string bytes_;
  std::size_t room_;
  bool committed_ = false;
};

// Reads all of `stream` from `offset` 0; "" when a read throws.
awaitable<std::string> read_stream(coras::server::body_stream& stream) {
  std::string out;
  std::vector<char> buf(100'000);
  try {
    while (out.size() < stream.size()) {
      const auto n = co_await stream.async_read_at(out.size(), asio::buffer(buf));
      out.append(buf.data(), n);
    }
  } catch (const std::exception&) {
    out.clear();
  }
  co_return out;
}

}  // namespace

TEST_CASE(
    "mirror: a flight whose store fails mid-blob keeps the rest in memory; every client "
    "still gets the whole blob",
    "[mirror]") {
  static constexpr std::size_t blob_size = 4 * 1024 * 1024;
  mirror_options m;
  m.max_flight_buffer_bytes = 64 * 1024;
  with_mirror({}, m, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "full/disk");
    auto img = co_await push_image(up, "v1", 1, blob_size, 600);
    const auto& d = img.layers[0].digest;
    slow_blob_gets(e.up, std::chrono::milliseconds(300), 1);
    // The store takes the first MiB, then fails.
    auto sink = std::make_shared<full_disk_sink>(1024 * 1024);
    auto first = co_await e.cache.async_open_blob("full/disk", d, sink);
    auto second = co_await e.cache.async_open_blob("full/disk", d, sink);
    REQUIRE(first.body);
    REQUIRE(second.body);
    CHECK(e.cache.stats().upstream_fetches == 1);
    // One reads as the bytes arrive; the other only once the fetch is over,
    // from its first byte: the first MiB from the writer, the rest from memory.
    const auto along = co_await read_stream(*first.body);
    for (int i = 0; i < 1000 && e.cache.stats().in_flight > 0; ++i)
      co_await sleep_for(std::chrono::milliseconds(5));
    const auto late = co_await read_stream(*second.body);
    CHECK(along.size() == blob_size);
    CHECK(coras::digest::of(along) == d);
    CHECK(late.size() == blob_size);
    CHECK(coras::digest::of(late) == d);
    CHECK_FALSE(sink->committed());
    const auto s = e.cache.stats();
    INFO("buffered_bytes_peak " << s.buffered_bytes_peak);
    CHECK(s.buffered_bytes_peak >= blob_size - 1024 * 1024);
    first.body.reset();
    second.body.reset();
    CHECK(e.cache.stats().buffered_bytes == 0);
  });
}

TEST_CASE("mirror: a tag is re-resolved upstream after tag_ttl, a digest never", "[mirror]") {
  mirror_options m;
  m.tag_ttl = std::chrono::seconds(1);
  with_mirror({}, m, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "ttl/app");
    auto first = co_await push_image(up, "latest", 1, 1000, 10);
    auto through = repo_at(c, e.mirror, "ttl/app");
    co_await pull_and_check(through, "latest", first);
    auto second = co_await push_image(up, "latest", 1, 1000, 20);  // the tag moves upstream
    e.up.clear_request_log();
    // Within the TTL: the stored tag, no upstream request.
    const std::string latest = "latest";
    auto fresh = co_await through.async_resolve(latest);
    CHECK(fresh.digest == first.manifest.digest);
    CHECK(e.up.recent_requests().empty());
    co_await sleep_for(std::chrono::milliseconds(1100));
    co_await pull_and_check(through, "latest", second);
    CHECK(upstream_requests(e.up, "GET", "/manifests/latest") == 1);
    // Digests are immutable: served from the store, however old.
    e.up.clear_request_log();
    auto old = co_await through.async_fetch_bytes(first.manifest);
    CHECK(coras::digest::of(old) == first.manifest.digest);
    CHECK(upstream_requests(e.up, "GET", "/manifests/") == 0);

    // An unreachable upstream serves the stale tag.
    co_await sleep_for(std::chrono::milliseconds(1100));
    coras::server::status_fault down;
    down.status = 503;
    down.count = 50;
    down.path_contains = "/manifests/latest";
    e.up.inject_status(down);
    auto stale = co_await through.async_resolve(latest);
    CHECK(stale.digest == second.manifest.digest);
    e.up.clear_faults();
  });
}

TEST_CASE("mirror: pushes and deletes are refused unless allowed", "[mirror]") {
  with_mirror({}, {}, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto through = repo_at(c, e.mirror, "push/app");
    const std::string type = "application/octet-stream";
    const std::string bytes = "hello";
    auto [ec, desc] = co_await through.async_push_bytes(type, bytes, tuple);
    CHECK(ec == errc::unsupported);
    auto post = co_await raw_get(c, e.mirror.url() + "/v2/push/app/blobs/uploads/", "POST");
    CHECK(post.status == 405);
    CHECK(post.body.find("UNSUPPORTED") != std::string::npos);
    CHECK(post.body.find("mirror_options::allow_push") != std::string::npos);
    auto del = co_await raw_get(c, e.mirror.url() + "/v2/push/app/manifests/v1", "DELETE");
    CHECK(del.status == 405);
    CHECK(upstream_requests(e.up, "POST", "/") == 0);
  });
  mirror_options allowed;
  allowed.allow_push = true;
  with_mirror({}, allowed, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto through = repo_at(c, e.mirror, "push/app");
    auto img = co_await push_image(through, "local", 1, 1000, 5);
    co_await pull_and_check(through, "local", img);
    CHECK(upstream_requests(e.up, "POST", "/") == 0);
  });
}

TEST_CASE("mirror: tag and referrers listings pass through", "[mirror]") {
  with_mirror({}, {}, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "list/app");
    auto img = co_await push_image(up, "a", 1, 100, 1);
    const std::string b = "b", c2 = "c";
    co_await up.async_tag(img.manifest, b);
    co_await up.async_tag(img.manifest, c2);
    auto note = coras::test::artifact_json(img.manifest, "application/vnd.note", "hi");
    auto note_desc = descriptor::for_content(coras::media_type::oci_manifest, note);
    co_await up.async_push(note_desc, coras::memory_source(note));

    auto through = repo_at(c, e.mirror, "list/app");
    auto tags = co_await through.async_list_tags();
    CHECK(tags == std::vector<std::string>{"a", "b", "c"});
    auto page = co_await raw_get(c, e.mirror.url() + "/v2/list/app/tags/list?n=2");
    CHECK(page.status == 200);
    CHECK(page.body == R"({"name":"list/app","tags":["a","b"]})");
    std::vector<descriptor> found;
    coras::remote::referrers_handler collect = [&](std::span<const descriptor> p) {
      found.insert(found.end(), p.begin(), p.end());
      return true;
    };
    const std::string no_filter;
    co_await through.async_referrers(img.manifest, no_filter, collect);
    REQUIRE(found.size() == 1);
    CHECK(found[0].digest == note_desc.digest);
    CHECK(upstream_requests(e.up, "GET", "/referrers/") >= 1);
  });
}

TEST_CASE("mirror: limits (max_clients, max_upstream_fetches) and GET /metrics", "[mirror]") {
  mirror_options m;
  m.max_clients = 2;
  m.max_upstream_fetches = 1;
  with_mirror({}, m, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "limits/app");
    auto img = co_await push_image(up, "v1", 3, 100'000, 40);
    slow_blob_gets(e.up, std::chrono::milliseconds(0), 10, std::chrono::milliseconds(300));
    // Three blobs at once with room for two waiting clients: one 429 naming the limit.
    std::vector<client> clients;
    for (int i = 0; i < 3; ++i) clients.emplace_back(e.ex);
    std::vector<raw_result> results(3);
    std::vector<awaitable<void>> gets;
    for (std::size_t i = 0; i < 3; ++i)
      gets.push_back([](client cl, std::string url, raw_result& out) -> awaitable<void> {
        out = co_await raw_get(cl, url);
      }(clients[i], e.mirror.url() + "/v2/limits/app/blobs/" + img.layers[i].digest.str(),
                                                                     results[i]));
    const auto start = std::chrono::steady_clock::now();
    co_await run_all(std::move(gets));
    const auto took = std::chrono::steady_clock::now() - start;
    int ok = 0, refused = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      if (results[i].status == 200 && results[i].complete) {
        CHECK(coras::digest::of(results[i].body) == img.layers[i].digest);
        ++ok;
      }
      if (results[i].status == 429) {
        CHECK(results[i].body.find("mirror_options::max_clients = 2") != std::string::npos);
        ++refused;
      }
    }
    CHECK(ok == 2);
    CHECK(refused == 1);
    // One upstream fetch at a time: the two 300 ms waits upstream did not overlap.
    CHECK(took >= std::chrono::milliseconds(580));
    const auto s = e.cache.stats();
    CHECK(s.refused_clients == 1);
    CHECK(s.upstream_fetches == 2);

    auto metrics = co_await raw_get(c, e.mirror.url() + "/metrics");
    CHECK(metrics.status == 200);
    for (const char* name :
         {"coras_mirror_hits_total 0", "coras_mirror_misses_total 3",
          "coras_mirror_upstream_bytes_total 200000", "coras_mirror_served_bytes_total 200000",
          "coras_mirror_in_flight_fetches 0", "coras_mirror_evictions_total 0",
          "coras_mirror_upstream_request_seconds_bucket{le=\"+Inf\"} 2",
          "coras_mirror_upstream_request_seconds_count 2"})
      CHECK(metrics.body.find(name) != std::string::npos);
  });
}

TEST_CASE("mirror: max_store_bytes evicts the least recently used unreferenced blobs", "[mirror]") {
  mirror_options m;
  m.max_store_bytes = 250'000;
  with_mirror({}, m, [](env& e) -> awaitable<void> {
    client c(e.ex);
    auto up = repo_at(c, e.up, "lru/app");
    // An image: its layer is referenced by a stored manifest, never evicted.
    auto img = co_await push_image(up, "v1", 1, 100'000, 60);
    auto through = repo_at(c, e.mirror, "lru/app");
    co_await pull_and_check(through, "v1", img);
    std::vector<std::string> loose;
    std::vector<descriptor> descs;
    const std::string type = "application/octet-stream";
    for (unsigned i = 0; i < 3; ++i) {
      loose.push_back(random_bytes(100'000, 70 + i));
      descs.push_back(co_await up.async_push_bytes(type, loose.back()));
    }
    auto get = [&](std::size_t i) -> awaitable<raw_result> {
      co_return co_await raw_get(c, e.mirror.url() + "/v2/lru/app/blobs/" + descs[i].digest.str());
    };
    // 100 KB layer + 100 KB: under the limit.
    auto r0 = co_await get(0);
    CHECK(r0.status == 200);
    CHECK(e.cache.stats().evictions == 0);
    co_await sleep_for(std::chrono::milliseconds(5));
    auto r1 = co_await get(1);  // 300 KB: the loose blob 0 (least recently used) goes
    CHECK(r1.status == 200);
    CHECK(e.cache.stats().evictions == 1);
    CHECK(e.cache.stats().store_bytes == 200'000);
    co_await sleep_for(std::chrono::milliseconds(5));
    e.up.clear_request_log();
    auto again1 = co_await get(1);  // a hit: it refreshes blob 1
    CHECK(again1.status == 200);
    CHECK(upstream_gets(e.up, descs[1].digest) == 0);
    co_await sleep_for(std::chrono::milliseconds(5));
    auto again0 = co_await get(0);  // fetched again, blob 1 is now the oldest loose one...
    CHECK(coras::digest::of(again0.body) == descs[0].digest);
    CHECK(upstream_gets(e.up, descs[0].digest) == 1);
    CHECK(e.cache.stats().evictions == 2);
    auto r2 = co_await get(2);  // ...and blob 0 goes before the referenced layer
    CHECK(r2.status == 200);
    CHECK(e.cache.stats().evictions == 3);
    // The referenced layer is still a hit.
    e.up.clear_request_log();
    co_await pull_and_check(through, "v1", img);
    CHECK(upstream_gets(e.up, img.layers[0].digest) == 0);
  });
}

// The pull-through cache in front of Debian's docker-registry (distribution
// 2.8.2), started by test/fixtures/with-docker-registry: plain, and with token
// auth (the mirror's credentials go through auth::make_authorizer, as the
// CLI's). The mirror's upstream client counts the requests it sends (its
// on_request hook): each blob is fetched once however many clients pull.
#include <coras_test/random_bytes.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>

#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>
#include <atomic>
#include <map>
#include <mutex>

namespace asio = boost::asio;
using asio::awaitable;
using coras::descriptor;
using coras::auth::credential;
using coras::http::client;
using coras::remote::repository;
using coras::test::env;
using coras::test::random_bytes;
using coras::test::read_streamed;
using coras::test::run;
using coras::test::run_all;

namespace {

std::string unique(std::string_view stem) {
  static std::atomic<int> n{0};
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

coras::http::client_options as(std::string user, std::string pass) {
  coras::http::client_options o;
  if (!user.empty())
    o.auth = coras::auth::make_authorizer(coras::auth::static_credentials(
        env("CORAS_TEST_REGISTRY"), credential{user, pass, "", ""}));
  else
    o.auth = coras::auth::make_authorizer();
  return o;
}

repository repo_on(const client& c, const std::string& host, const std::string& name) {
  coras::remote::repository_options o;
  o.plain_http = true;
  return repository(c, host + "/" + name, o);
}

struct image {
  descriptor manifest;
  std::vector<std::string> bytes;
};

awaitable<image> push_image(repository& r, const char* tag, int count, std::size_t size) {
  image img;
  std::vector<descriptor> layers;
  const std::string type = "application/vnd.oci.image.layer.v1.tar";
  for (int i = 0; i < count; ++i) {
    img.bytes.push_back(random_bytes(size, 50 + static_cast<unsigned>(i)));
    layers.push_back(co_await r.async_push_bytes(type, img.bytes.back()));
  }
  const std::string empty_type(coras::media_type::oci_empty);
  const std::string empty(coras::empty_json);
  co_await r.async_push_bytes(empty_type, empty);
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  m.layers = layers;
  auto json = m.to_json();
  img.manifest = descriptor::for_content(coras::media_type::oci_manifest, json);
  const std::string name = tag;
  co_await r.async_push_reference(img.manifest, coras::memory_source(json), name);
  co_return img;
}

// Upstream requests the mirror's client sent, by "METHOD path-part".
struct request_counter {
  std::mutex m;
  std::vector<coras::http::request_event> events;
  std::size_t count(std::string_view method, std::string_view part, unsigned status) {
    std::lock_guard lock(m);
    std::size_t n = 0;
    for (const auto& e : events)
      if (e.method == method && e.url.find(part) != std::string::npos && e.status == status) ++n;
    return n;
  }
};

// 16 clients pull `name:v1` through a mirror of docker-registry.
awaitable<void> pull_through(asio::any_io_executor ex, coras::http::client_options upstream_opts,
                             const std::string& name, const image& img) {
  auto counter = std::make_shared<request_counter>();
  upstream_opts.on_request = [counter](const coras::http::request_event& e) {
    std::lock_guard lock(counter->m);
    counter->events.push_back(e);
  };
  coras::server::registry_options o;
  coras::mirror::mirror_options m;
  m.upstream = "http://" + env("CORAS_TEST_REGISTRY");
  auto cache = coras::mirror::attach(o, client(ex, upstream_opts), m);
  coras::server::registry mirror(ex, o);
  mirror.start();
  struct stopper {
    coras::server::registry& r;
    ~stopper() { r.stop(); }
  } stop{mirror};

  std::vector<client> clients;
  for (int i = 0; i < 16; ++i) clients.emplace_back(ex);
  std::vector<awaitable<void>> pulls;
  for (auto& c : clients)
    pulls.push_back([](const client& c, std::string host, std::string name,
                       const image& img) -> awaitable<void> {
      auto r = repo_on(c, host, name);
      const std::string tag = "v1";
      auto desc = co_await r.async_resolve(tag);
      REQUIRE(desc.digest == img.manifest.digest);
      const auto json = co_await r.async_fetch_bytes(desc);
      auto m = coras::image_manifest::parse(json);
      REQUIRE(m.layers.size() == img.bytes.size());
      for (std::size_t i = 0; i < m.layers.size(); ++i) {
        auto reader = co_await r.async_fetch(m.layers[i]);
        auto got = co_await read_streamed(reader);
        REQUIRE(got.size() == img.bytes[i].size());
        REQUIRE(coras::digest::of(got) == coras::digest::of(img.bytes[i]));
      }
    }(c, mirror.host(), name, img));
  co_await run_all(std::move(pulls));

  auto first = repo_on(clients[0], mirror.host(), name);
  const auto json = co_await first.async_fetch_bytes(img.manifest);
  auto manifest = coras::image_manifest::parse(json);
  for (const auto& l : manifest.layers)
    CHECK(counter->count("GET", "/blobs/" + l.digest.str(), 200) == 1);
  CHECK(counter->count("GET", "/manifests/v1", 200) == 1);
  CHECK(cache->stats().upstream_fetches == img.bytes.size());
}

}  // namespace

TEST_CASE("mirror of docker-registry: 16 clients, one upstream fetch per blob", "[plain]") {
  run([](auto ex) -> awaitable<void> {
    client c(ex);
    const auto name = unique("mirror/app");
    coras::remote::repository_options ro;
    ro.plain_http = true;
    repository up(c, env("CORAS_TEST_REGISTRY") + "/" + name, ro);
    auto img = co_await push_image(up, "v1", 3, 512 * 1024);
    const coras::http::client_options plain;
    co_await pull_through(ex, plain, name, img);
  });
}

TEST_CASE("mirror of docker-registry with token auth: the mirror's credentials fetch", "[token]") {
  run([](auto ex) -> awaitable<void> {
    client pusher(ex, as(env("CORAS_TEST_PUSH_USER"), env("CORAS_TEST_PUSH_PASS")));
    const auto name = unique("mirror/private");
    coras::remote::repository_options ro;
    ro.plain_http = true;
    repository up(pusher, env("CORAS_TEST_REGISTRY") + "/" + name, ro);
    auto img = co_await push_image(up, "v1", 2, 256 * 1024);
    // The mirror pulls with the pull-only user; its clients present nothing.
    co_await pull_through(ex, as(env("CORAS_TEST_PULL_USER"), env("CORAS_TEST_PULL_PASS")), name,
                          img);

    // Without credentials the upstream's 401 reaches the client.
    coras::server::registry_options o;
    coras::mirror::mirror_options m;
    m.upstream = "http://" + env("CORAS_TEST_REGISTRY");
    coras::mirror::attach(o, client(ex, as("", "")), m);
    coras::server::registry mirror(ex, o);
    mirror.start();
    client c(ex);
    auto r = repo_on(c, mirror.host(), name);
    const std::string tag = "v1";
    auto [ec, desc] = co_await r.async_resolve(tag, asio::as_tuple(asio::use_awaitable));
    CHECK(ec == coras::errc::unauthorized);
    mirror.stop();
  });
}

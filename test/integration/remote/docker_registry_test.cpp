// The repository and registry operations against Debian's docker-registry
// (CNCF distribution 2.8.2), started by test/fixtures/with-docker-registry in
// plain or TLS mode. Each test case uses its own repositories.
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>

#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using coras::descriptor;
using coras::diagnostics;
using coras::errc;
using coras::http::client;
using coras::remote::registry;
using coras::remote::repository;
using coras::test::env;
using coras::test::random_bytes;
using coras::test::read_streamed;
using coras::test::run;
using coras::test::same;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

client make_client(asio::any_io_executor ex) {
  coras::http::client_options o;
  if (env("CORAS_TEST_SCHEME") == "https") o.tls.ca_file = env("CORAS_TEST_CERTS") + "/ca.crt";
  return client(ex, o);
}

coras::remote::registry_options options() {
  coras::remote::registry_options o;
  o.plain_http = env("CORAS_TEST_SCHEME") == "http";
  return o;
}

// A repository name no other test case (or earlier run) uses.
std::string unique(std::string_view stem) {
  static std::atomic<int> n{0};
  static const auto salt = std::random_device{}();
  return std::string(stem) + "-" + std::to_string(salt % 100000) + "-" + std::to_string(++n);
}

// An image manifest over `layers` with the empty config, as JSON.
std::string image_manifest_json(std::vector<descriptor> layers) {
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  m.layers = std::move(layers);
  return m.to_json();
}

}  // namespace

TEST_CASE("remote vs docker-registry: ping and catalog pagination", "[remote]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    auto o = options();
    o.repository_list_page_size = 2;
    registry reg(c, env("CORAS_TEST_REGISTRY"), o);
    co_await reg.async_ping();

    // Five repositories, each made to exist by one blob.
    std::vector<std::string> names;
    for (int i = 0; i < 5; ++i) {
      names.push_back(unique("catalog/r" + std::to_string(i)));
      co_await reg.repository(names.back()).async_push_bytes("application/octet-stream", "x");
    }
    std::vector<std::size_t> page_sizes;
    std::vector<std::string> seen;
    co_await reg.async_repositories({}, [&](std::span<const std::string> page) {
      page_sizes.push_back(page.size());
      seen.insert(seen.end(), page.begin(), page.end());
      return true;
    });
    for (const auto& n : names) CHECK(std::count(seen.begin(), seen.end(), n) == 1);
    CHECK(page_sizes.size() >= 3);
    CHECK(std::all_of(page_sizes.begin(), page_sizes.end(), [](auto n) { return n <= 2; }));

    auto all = co_await reg.async_list_repositories();
    CHECK(all == seen);

    // `last` starts after the given name; stopping early is not an error.
    std::vector<std::string> after;
    co_await reg.async_repositories(all[0], [&](std::span<const std::string> page) {
      after.insert(after.end(), page.begin(), page.end());
      return false;
    });
    REQUIRE(!after.empty());
    CHECK(after.front() == all[1]);
    CHECK(after.size() <= 2);
  });
}

TEST_CASE("remote vs docker-registry: blobs", "[remote]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto repo = reg.repository(unique("blobs"));
    const auto bytes = random_bytes(300'000, 1);

    auto desc = co_await repo.async_push_bytes("application/octet-stream", bytes);
    CHECK(desc.digest == coras::digest::of(bytes));
    CHECK(desc.size == 300'000);
    auto exists_after_push = co_await repo.async_exists(desc);
    CHECK(exists_after_push);

    // Resolve (HEAD) and FetchHead.
    auto resolved = co_await repo.async_resolve_blob(desc.digest.str());
    CHECK(resolved.digest == desc.digest);
    CHECK(resolved.size == desc.size);
    auto head = co_await repo.async_fetch_head(desc);
    CHECK(head.get("Docker-Content-Digest") == std::optional<std::string_view>(desc.digest.str()));

    // Fetch streamed, by reference, whole, and to a file.
    auto reader = co_await repo.async_fetch(desc);
    auto streamed = co_await read_streamed(reader);
    CHECK(same(streamed, bytes));
    auto by_ref =
        co_await repo.async_fetch_blob_reference(repo.ref().name() + "@" + desc.digest.str());
    CHECK(by_ref.desc.size == desc.size);
    auto streamed_by_ref = co_await read_streamed(by_ref.body);
    CHECK(same(streamed_by_ref, bytes));
    auto whole = co_await repo.async_fetch_bytes(desc);
    CHECK(same(whole, bytes));
    const auto dir = fs::temp_directory_path() / unique("coras-remote-test");
    fs::create_directories(dir);
    co_await repo.async_fetch_to_file(desc, dir / "blob");
    std::ifstream in(dir / "blob", std::ios::binary);
    CHECK(same(std::string(std::istreambuf_iterator<char>(in), {}), bytes));
    CHECK(!fs::exists(dir / ".coras-staging"));

    // Push from a file.
    {
      std::ofstream out(dir / "upload", std::ios::binary);
      out << random_bytes(70'000, 2);
    }
    auto from_file = co_await repo.async_push_file("application/vnd.example+bin", dir / "upload");
    CHECK(from_file.size == 70'000);
    auto pushed_from_file = co_await repo.async_fetch_bytes(from_file);
    CHECK(same(pushed_from_file, random_bytes(70'000, 2)));
    fs::remove_all(dir);

    // Delete by digest; afterwards it is gone.
    co_await repo.async_delete(desc);
    auto exists_after_delete = co_await repo.async_exists(desc);
    CHECK_FALSE(exists_after_delete);
    diagnostics d;
    auto [ec] = co_await repo.async_delete(desc, d, as_tuple);
    CHECK(ec == errc::not_found);
    CHECK(d.message().find("DELETE") != std::string::npos);
    auto [ec2, r2] = co_await repo.async_fetch(desc, d, as_tuple);
    CHECK(ec2 == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->status == 404);
    CHECK(d.registry()->errors.at(0).code == "BLOB_UNKNOWN");
  });
}

TEST_CASE("remote vs docker-registry: digest and size mismatches are detected", "[remote]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto repo = reg.repository(unique("mismatch"));
    const auto bytes = random_bytes(5000, 3);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", bytes);

    // A descriptor with the wrong size: the Content-Length check stops it.
    auto wrong_size = desc;
    wrong_size.size = 4999;
    diagnostics d;
    auto [ec1, r1] = co_await repo.async_fetch(wrong_size, d, as_tuple);
    CHECK(ec1 == errc::size_mismatch);
    CHECK(d.message().find("Content-Length") != std::string::npos);

    // Pushing content that does not match its descriptor: the size is
    // checked before sending, the digest by the registry.
    auto bad = desc;
    bad.size = 10;
    auto [ec2] = co_await repo.async_push(bad, coras::memory_source(bytes), d, as_tuple);
    CHECK(ec2 == errc::size_mismatch);
    auto other = descriptor::for_content("application/octet-stream", random_bytes(5000, 4));
    auto [ec3] = co_await repo.async_push(other, coras::memory_source(bytes), d, as_tuple);
    CHECK(ec3);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "DIGEST_INVALID");

    // A blob reference must be a digest.
    auto [ec4, r4] = co_await repo.async_resolve_blob("latest", d, as_tuple);
    CHECK(ec4 == errc::invalid_reference);
  });
}

TEST_CASE("remote vs docker-registry: manifests, tags and resolve", "[remote]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    auto o = options();
    o.tag_list_page_size = 2;  // docker-registry 2.8.2 ignores it on tags/list
    registry reg(c, env("CORAS_TEST_REGISTRY"), o);
    auto repo = reg.repository(unique("manifests"));
    auto layer = co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar",
                                                random_bytes(1000, 5));
    co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                   std::string(coras::empty_json));
    const auto json = image_manifest_json({layer});
    auto mdesc = descriptor::for_content(coras::media_type::oci_manifest, json);
    CHECK(repo.is_manifest(mdesc));

    co_await repo.async_push_reference(mdesc, coras::memory_source(json), "v1");
    auto by_tag = co_await repo.async_resolve("v1");
    CHECK(by_tag.digest == mdesc.digest);
    CHECK(by_tag.size == mdesc.size);
    CHECK(by_tag.media_type == coras::media_type::oci_manifest);
    auto by_digest = co_await repo.async_resolve(mdesc.digest.str());
    CHECK(by_digest == by_tag);
    auto full = co_await repo.async_resolve(repo.ref().name() + ":v1");
    CHECK(full.digest == mdesc.digest);

    auto f = co_await repo.async_fetch_reference("v1");
    CHECK(f.desc.digest == mdesc.digest);
    auto manifest_streamed = co_await read_streamed(f.body);
    CHECK(same(manifest_streamed, json));
    auto manifest_bytes = co_await repo.async_fetch_bytes(mdesc);
    CHECK(same(manifest_bytes, json));
    auto manifest_exists = co_await repo.async_exists(mdesc);
    CHECK(manifest_exists);

    // Tag an existing manifest several times, then list.
    for (auto t : {"v2", "v3", "latest"}) co_await repo.async_tag(mdesc, t);
    auto tags = co_await repo.async_list_tags();
    std::sort(tags.begin(), tags.end());
    CHECK(tags == std::vector<std::string>{"latest", "v1", "v2", "v3"});

    // A push by digest (no tag) routes through the manifest endpoint.
    const auto json2 = image_manifest_json({});
    auto d2 = co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest), json2);
    auto resolved_by_digest = co_await repo.async_resolve(d2.digest.str());
    CHECK(resolved_by_digest == d2);

    // A manifest fetched with the wrong expected media type is refused.
    auto wrong_type = mdesc;
    wrong_type.media_type = std::string(coras::media_type::docker_manifest);
    diagnostics d;
    auto [ec1, r1] = co_await repo.async_fetch(wrong_type, d, as_tuple);
    CHECK(ec1 == errc::not_found);  // distribution answers 404 to an Accept it cannot serve

    // Unknown tags and repositories are not_found, with the registry's code.
    auto [ec2, r2] = co_await repo.async_resolve("nope", d, as_tuple);
    CHECK(ec2 == errc::not_found);
    auto [ec3, r3] = co_await reg.repository(unique("absent")).async_list_tags(d, as_tuple);
    CHECK(ec3 == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "NAME_UNKNOWN");

    // Delete by digest (distribution refuses DELETE by tag); all its tags go.
    co_await repo.async_delete(mdesc);
    auto [ec4, r4] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(ec4 == errc::not_found);
  });
}

TEST_CASE("remote vs docker-registry: several tags fall back to one PUT per tag",
          "[remote][tags]") {
  run([](auto ex) -> asio::awaitable<void> {
    // The manifest PUTs, as sent (distribution 2.8 ignores ?tag=).
    auto puts = std::make_shared<std::vector<std::string>>();
    coras::http::client_options co;
    if (env("CORAS_TEST_SCHEME") == "https") co.tls.ca_file = env("CORAS_TEST_CERTS") + "/ca.crt";
    co.on_request = [puts](const coras::http::request_event& e) {
      if (e.method == "PUT" && e.url.find("/manifests/") != std::string::npos)
        puts->push_back(e.url.substr(e.url.find("/manifests/") + 11));
    };
    client c(ex, co);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto repo = reg.repository(unique("tags-n"));
    co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                   std::string(coras::empty_json));
    const auto json = image_manifest_json({});
    auto mdesc = descriptor::for_content(coras::media_type::oci_manifest, json);

    std::vector<std::string> tags{"v1", "v1.0", "latest"};
    co_await repo.async_push_reference_n(mdesc, coras::memory_source(json), tags);
    CHECK(*puts == std::vector<std::string>{mdesc.digest.str() + "?tag=v1&tag=v1.0&tag=latest",
                                            "v1", "v1.0", "latest"});
    auto listed = co_await repo.async_list_tags();
    std::sort(listed.begin(), listed.end());
    CHECK(listed == std::vector<std::string>{"latest", "v1", "v1.0"});

    // The handle remembers: the next tagging sends no ?tag=.
    puts->clear();
    std::vector<std::string> more{"a", "b"};
    co_await repo.async_tag_n(mdesc, more);
    CHECK(*puts == std::vector<std::string>{"a", "b"});
    const std::string b = "b";
    auto resolved = co_await repo.async_resolve(b);
    CHECK(resolved.digest == mdesc.digest);
  });
}

TEST_CASE("remote vs docker-registry: mount across repositories", "[remote]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto src = reg.repository(unique("mount/src"));
    auto dst = reg.repository(unique("mount/dst"));
    const auto bytes = random_bytes(20'000, 6);
    auto desc = co_await src.async_push_bytes("application/octet-stream", bytes);

    // The registry mounts (201).
    co_await dst.async_mount(desc, src.ref().repository(), nullptr);
    auto mounted = co_await dst.async_fetch_bytes(desc);
    CHECK(same(mounted, bytes));

    // From a repository that lacks the blob the registry opens an upload (202):
    // the content comes from the caller's factory.
    auto other = descriptor::for_content("application/octet-stream", random_bytes(3000, 7));
    auto dst2 = reg.repository(unique("mount/dst"));
    int calls = 0;
    co_await dst2.async_mount(other, src.ref().repository(), [&] {
      ++calls;
      return coras::memory_source(random_bytes(3000, 7));
    });
    CHECK(calls == 1);
    auto uploaded = co_await dst2.async_fetch_bytes(other);
    CHECK(same(uploaded, random_bytes(3000, 7)));
  });
}

namespace {

// The subject every referrers test attaches to: an image with one layer.
asio::awaitable<descriptor> push_subject(repository& repo) {
  auto layer = co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar",
                                              random_bytes(500, 21));
  co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                 std::string(coras::empty_json));
  const auto json = image_manifest_json({layer});
  auto desc = descriptor::for_content(coras::media_type::oci_manifest, json);
  co_await repo.async_push_reference(desc, coras::memory_source(json), "subject");
  co_return desc;
}

asio::awaitable<descriptor> attach(repository& repo, const descriptor& subject, std::string type,
                                   std::string note) {
  co_return co_await repo.async_push_bytes(
      std::string(coras::media_type::oci_manifest),
      coras::test::artifact_json(subject, std::move(type), std::move(note)));
}

}  // namespace

TEST_CASE("remote vs docker-registry: referrers by the tag schema", "[remote][referrers]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto repo = reg.repository(unique("referrers/schema"));
    auto subject = co_await push_subject(repo);
    auto sbom1 = co_await attach(repo, subject, "application/vnd.example.sbom", "1");
    auto sbom2 = co_await attach(repo, subject, "application/vnd.example.sbom", "2");
    auto sig = co_await attach(repo, subject, "application/vnd.example.sig", "3");
    // docker-registry 2.8.2 has no Referrers API: learnt on the first push with a subject.
    CHECK(repo.referrers_capability() == std::optional<bool>(false));

    auto all = co_await repo.async_list_referrers(subject, "");
    REQUIRE(all.size() == 3);
    CHECK(all[0].digest == sbom1.digest);
    CHECK(all[0].artifact_type == "application/vnd.example.sbom");
    CHECK(all[0].annotations.at("note") == "1");
    CHECK(all[2].digest == sig.digest);
    auto sboms = co_await repo.async_list_referrers(subject, "application/vnd.example.sbom");
    CHECK(sboms.size() == 2);
    auto tags = co_await repo.async_list_tags();
    const auto tag = "sha256-" + std::string(subject.digest.hex());
    CHECK(std::count(tags.begin(), tags.end(), tag) == 1);

    // Deleting a referrer rewrites the index without it and deletes the old index.
    auto old_index = co_await repo.async_resolve(tag);
    co_await repo.async_delete(sbom2);
    auto left = co_await repo.async_list_referrers(subject, "");
    REQUIRE(left.size() == 2);
    CHECK(left[1].digest == sig.digest);
    auto old_gone = co_await repo.async_exists(old_index);
    CHECK_FALSE(old_gone);

    // The last referrer gone: no index is left (GC on).
    co_await repo.async_delete(sbom1);
    co_await repo.async_delete(sig);
    auto none = co_await repo.async_list_referrers(subject, "");
    CHECK(none.empty());
    diagnostics d;
    auto [ec, r] = co_await repo.async_resolve(tag, d, as_tuple);
    CHECK(ec == errc::not_found);
  });
}

TEST_CASE("remote vs docker-registry: skip_referrers_gc keeps old indexes", "[remote][referrers]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    auto o = options();
    o.skip_referrers_gc = true;
    registry reg(c, env("CORAS_TEST_REGISTRY"), o);
    auto repo = reg.repository(unique("referrers/nogc"));
    auto subject = co_await push_subject(repo);
    co_await attach(repo, subject, "application/vnd.example.sbom", "1");
    auto first_index = co_await repo.async_resolve("sha256-" + std::string(subject.digest.hex()));
    co_await attach(repo, subject, "application/vnd.example.sbom", "2");
    auto kept = co_await repo.async_exists(first_index);
    CHECK(kept);
    auto all = co_await repo.async_list_referrers(subject, "");
    CHECK(all.size() == 2);
  });
}

TEST_CASE("remote vs docker-registry: 50 concurrent attaches to one subject",
          "[remote][referrers]") {
  std::vector<coras::http::request_event> events;
  run([&](auto ex) -> asio::awaitable<void> {
    coras::http::client_options co;
    if (env("CORAS_TEST_SCHEME") == "https") co.tls.ca_file = env("CORAS_TEST_CERTS") + "/ca.crt";
    co.on_request = [&](const coras::http::request_event& e) { events.push_back(e); };
    client c(ex, co);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    auto repo = reg.repository(unique("referrers/fifty"));
    auto subject = co_await push_subject(repo);
    events.clear();
    std::vector<asio::awaitable<void>> pushes;
    for (int i = 0; i < 50; ++i)
      pushes.push_back([](repository r, descriptor s, int n) -> asio::awaitable<void> {
        co_await attach(r, s, "application/vnd.example.sbom", std::to_string(n));
      }(repo, subject, i));
    co_await coras::test::run_all(std::move(pushes));
    auto all = co_await repo.async_list_referrers(subject, "");
    CHECK(all.size() == 50);
    std::set<std::string> notes;
    for (const auto& d : all) notes.insert(d.annotations.at("note"));
    CHECK(notes.size() == 50);
  });
  const auto tag = "/manifests/sha256-";
  int index_puts = 0, index_deletes = 0, failed_deletes = 0;
  for (const auto& e : events) {
    if (e.method == "PUT" && e.url.find(tag) != std::string::npos) ++index_puts;
    if (e.method == "DELETE") (e.status == 202 ? index_deletes : failed_deletes)++;
  }
  // Merged updates: far fewer rewrites than attaches; every old index deleted.
  INFO("index rewrites for 50 concurrent attaches: " << index_puts);
  std::printf("referrers: 50 concurrent attaches -> %d index rewrites, %d old indexes deleted\n",
              index_puts, index_deletes);
  CHECK(index_puts >= 1);
  CHECK(index_puts < 50);
  CHECK(index_deletes == index_puts - 1);
  CHECK(failed_deletes == 0);
}

// Issue 17, item 9: writers the merge queue cannot see. Each attach has its
// own client (connection pool) and handle (queue), as separate processes
// would; test/cli/attach_race.sh runs real processes.
TEST_CASE("remote vs docker-registry: 20 clients attach at once, all 20 are listed",
          "[remote][referrers]") {
  run([](auto ex) -> asio::awaitable<void> {
    auto c = make_client(ex);
    registry reg(c, env("CORAS_TEST_REGISTRY"), options());
    const auto name = unique("referrers/clients");
    auto repo = reg.repository(name);
    auto subject = co_await push_subject(repo);
    std::vector<std::unique_ptr<client>> clients;
    std::vector<asio::awaitable<void>> pushes;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<client>(make_client(ex)));
      registry own(*clients.back(), env("CORAS_TEST_REGISTRY"), options());
      pushes.push_back([](repository r, descriptor s, int n) -> asio::awaitable<void> {
        co_await attach(r, s, "application/vnd.example.sbom", std::to_string(n));
      }(own.repository(name), subject, i));
    }
    co_await coras::test::run_all(std::move(pushes));
    auto all = co_await repo.async_list_referrers(subject, "");
    std::set<std::string> notes;
    for (const auto& d : all) notes.insert(d.annotations.at("note"));
    INFO(all.size() << " of 20 referrers listed");
    CHECK(all.size() == 20);
    CHECK(notes.size() == 20);
  });
}

TEST_CASE("remote vs docker-registry: ranged GET, chunked upload, parallel ranged download",
          "[remote][transfer]") {
  run([](auto ex) -> asio::awaitable<void> {
    constexpr std::uint64_t MiB = 1 << 20;
    auto c = make_client(ex);
    auto o = options();
    o.transfer.chunked_threshold = 0;  // every blob in PATCH chunks
    o.transfer.chunk_size = 5 * MiB;
    o.transfer.parallel_threshold = 16 * MiB;
    o.transfer.segment_size = 16 * MiB;
    o.transfer.parallel_downloads = 4;
    repository repo(c, env("CORAS_TEST_REGISTRY") + "/" + unique("transfer"), o);

    // 256 MiB, generated in a file and pushed from it in 52 chunks.
    const auto dir = fs::temp_directory_path() / unique("coras-transfer");
    fs::create_directories(dir);
    {
      std::ofstream out(dir / "big", std::ios::binary);
      for (unsigned i = 0; i < 64; ++i) {
        auto piece = random_bytes(4 * MiB, 1000 + i);
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      }
    }
    auto desc = co_await repo.async_push_file("application/octet-stream", dir / "big");
    CHECK(desc.size == static_cast<std::int64_t>(256 * MiB));

    // A ranged GET from an offset, verified over the whole blob.
    const std::uint64_t at = 255 * MiB + 12345;
    auto prefix = std::make_shared<coras::digester>();
    {
      std::ifstream in(dir / "big", std::ios::binary);
      std::vector<char> buf(MiB);
      for (std::uint64_t done = 0; done < at;) {
        auto n = std::min<std::uint64_t>(buf.size(), at - done);
        in.read(buf.data(), static_cast<std::streamsize>(n));
        prefix->update(std::as_bytes(std::span(buf.data(), n)));
        done += n;
      }
    }
    coras::remote::fetch_options from;
    from.offset = at;
    from.prefix = prefix;
    auto reader = co_await repo.async_fetch_at(desc, from);
    auto tail = co_await read_streamed(reader);
    CHECK(tail.size() == 256 * MiB - at);

    // The whole blob into a file as 16 ranges over 4 connections.
    const auto before = c.stats().connections_opened;
    co_await repo.async_fetch_to_file(desc, dir / "back");
    CHECK(c.stats().connections_opened - before >= 3);
    CHECK(fs::file_size(dir / "back") == 256 * MiB);
    std::ifstream a(dir / "big", std::ios::binary), b(dir / "back", std::ios::binary);
    std::vector<char> x(MiB), y(MiB);
    bool equal = true;
    while (a.read(x.data(), MiB) && b.read(y.data(), MiB)) equal = equal && x == y;
    CHECK(equal);
    fs::remove_all(dir);
  });
}

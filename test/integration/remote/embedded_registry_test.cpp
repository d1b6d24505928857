// The repository operations against the embedded registry (in-process), for
// what docker-registry cannot produce: the seed's generateDescriptor rows
// without or with a wrong Docker-Content-Digest, bodies of unknown length,
// tag pagination, hostile Link headers, warnings, corrupted content, and a
// registry that refuses to mount.
#include <coras_test/embedded.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using asio::use_awaitable;
using coras::descriptor;
using coras::diagnostics;
using coras::errc;
using coras::http::client;
using coras::remote::repository;
using coras::server::header_fault;
using coras::server::registry_options;
using coras::test::plain_options;
using coras::test::random_bytes;
using coras::test::read_streamed;
using coras::test::repo_on;
using coras::test::same;
using coras::test::temp_dir;
using coras::test::with_client;
using coras::test::with_registry;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

// Pushes an image manifest (empty config, one layer) tagged `tag`; returns its descriptor.
asio::awaitable<descriptor> push_image(repository& repo, std::string tag) {
  auto layer = co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar",
                                              random_bytes(2000, 9));
  co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                 std::string(coras::empty_json));
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  m.layers = {layer};
  auto json = m.to_json();
  auto desc = descriptor::for_content(coras::media_type::oci_manifest, json);
  co_await repo.async_push_reference(desc, coras::memory_source(json), tag);
  co_return desc;
}

// Whether `tag` names `want` in `repo`.
asio::awaitable<bool> names(repository& repo, std::string tag, descriptor want) {
  auto d = co_await repo.async_resolve(std::move(tag));
  co_return d.digest == want.digest;
}

header_fault fault(std::string path, std::string method) {
  header_fault f;
  f.path_contains = std::move(path);
  f.method = std::move(method);
  return f;
}

}  // namespace

TEST_CASE("remote: the generateDescriptor truth table", "[remote][truth-table]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "truth/table");
    auto m = co_await push_image(repo, "v1");
    diagnostics d;

    // HEAD, no Docker-Content-Digest, by tag: the header is required.
    auto f = fault("/manifests/", "HEAD");
    f.remove = {"Docker-Content-Digest"};
    srv.inject_headers(f);
    auto [e1, r1] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(e1 == errc::invalid_response);
    CHECK(d.message().find("missing required header") != std::string::npos);

    // HEAD, no header, by digest: the reference's digest is used.
    srv.inject_headers(f);
    auto r2 = co_await repo.async_resolve(m.digest.str());
    CHECK(r2 == m);

    // GET, no header, by tag: the digest of the (bounded) body.
    f.method = "GET";
    srv.inject_headers(f);
    auto r3 = co_await repo.async_fetch_reference("v1");
    CHECK(r3.desc == m);
    auto body3 = co_await read_streamed(r3.body);
    CHECK(descriptor::for_content(coras::media_type::oci_manifest, body3) == m);

    // A wrong (valid) header digest, by digest: mismatch, for GET and HEAD.
    auto wrong = fault("/manifests/", "");
    wrong.count = 2;
    wrong.set = {{"Docker-Content-Digest", coras::digest::of("other").str()}};
    srv.inject_headers(wrong);
    auto [e4, r4] = co_await repo.async_fetch_reference(m.digest.str(), d, as_tuple);
    CHECK(e4 == errc::digest_mismatch);
    auto [e5, r5] = co_await repo.async_resolve(m.digest.str(), d, as_tuple);
    CHECK(e5 == errc::digest_mismatch);

    // By tag, the header's digest is believed at resolve time, and the body
    // read then fails verification instead of handing out wrong content.
    wrong.count = 1;
    wrong.method = "GET";
    srv.inject_headers(wrong);
    auto r6 = co_await repo.async_fetch_reference("v1");
    CHECK(r6.desc.digest == coras::digest::of("other"));
    auto [e6, s6] = co_await r6.body.async_read_all(1 << 20, as_tuple);
    CHECK(e6 == errc::digest_mismatch);
    CHECK(s6.empty());

    // A malformed header digest.
    auto bad = fault("/manifests/", "HEAD");
    bad.set = {{"Docker-Content-Digest", "sha256:xyz"}};
    srv.inject_headers(bad);
    auto [e7, r7] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(e7 == errc::invalid_response);
    CHECK(d.message().find("Docker-Content-Digest") != std::string::npos);

    // HEAD without Content-Length: refused.
    auto nolen = fault("/manifests/", "HEAD");
    nolen.unknown_length = true;
    srv.inject_headers(nolen);
    auto [e8, r8] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(e8 == errc::invalid_response);
    CHECK(d.message().find("Content-Length") != std::string::npos);

    // GET without Content-Length: resolved by HEAD (as the seed does), and the
    // streamed body verified against that.
    nolen.method = "GET";
    srv.inject_headers(nolen);
    srv.clear_request_log();
    auto r9 = co_await repo.async_fetch_reference("v1");
    CHECK(r9.desc == m);
    auto body9 = co_await read_streamed(r9.body);
    CHECK(body9.size() == static_cast<std::size_t>(m.size));
    auto log = srv.recent_requests();
    REQUIRE(log.size() == 2);
    CHECK(log[1].method == "HEAD");

    // Fetch by descriptor: the Content-Type must be the descriptor's.
    auto type = fault("/manifests/", "GET");
    type.set = {{"Content-Type", std::string(coras::media_type::docker_manifest)}};
    srv.inject_headers(type);
    auto [e10, r10] = co_await repo.async_fetch(m, d, as_tuple);
    CHECK(e10 == errc::invalid_response);
    CHECK(d.message().find("mismatch response Content-Type") != std::string::npos);
  });
}

TEST_CASE("remote: blobs of unknown length and corrupted content", "[remote]") {
  const auto root = fs::temp_directory_path() / ("coras-remote-" + std::to_string(::getpid()));
  fs::remove_all(root);
  registry_options o;
  o.root = root;
  with_client(o, [root](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "blobs/odd");
    const auto bytes = random_bytes(100'000, 11);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", bytes);
    diagnostics d;

    // A blob GET without Content-Length: the descriptor comes from a HEAD.
    auto nolen = fault("/blobs/", "GET");
    nolen.unknown_length = true;
    srv.inject_headers(nolen);
    auto f = co_await repo.async_fetch_blob_reference(desc.digest.str());
    CHECK(f.desc.size == desc.size);
    auto got = co_await read_streamed(f.body);
    CHECK(same(got, bytes));

    // A body cut short: resumed by default; with resuming off, an error,
    // never a clean end.
    srv.cut_blob_gets(50'000);
    auto resumed = co_await repo.async_fetch(desc);
    auto whole = co_await resumed.async_read_all(1 << 20);
    CHECK(same(whole, bytes));
    CHECK(resumed.resumes() == 1);
    auto no_resume = plain_options();
    no_resume.transfer.max_resumes = 0;
    auto strict = repo_on(c, srv, "blobs/odd", no_resume);
    srv.cut_blob_gets(50'000);
    auto cut = co_await strict.async_fetch(desc);
    auto [e1, s1] = co_await cut.async_read_all(1 << 20, as_tuple);
    CHECK(e1);
    CHECK(s1.empty());
    CHECK(e1 != asio::error::eof);

    // Content corrupted at rest: the last read fails; a file target is never written.
    const auto file = root / "blobs" / "sha256" / std::string(desc.digest.hex());
    REQUIRE(fs::exists(file));
    {
      std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(12345);
      io.put('\x5a' ^ bytes[12345]);
    }
    auto [e2, s2] = co_await repo.async_fetch_bytes(desc, d, as_tuple);
    CHECK(e2 == errc::digest_mismatch);
    CHECK(s2.empty());
    const auto target = root / "out.bin";
    auto [e3] = co_await repo.async_fetch_to_file(desc, target, d, as_tuple);
    CHECK(e3 == errc::digest_mismatch);
    CHECK(!fs::exists(target));
    CHECK(!fs::exists(root / ".coras-staging"));
  });
  fs::remove_all(root);
}

TEST_CASE("remote: 404s and error bodies keep the registry's codes", "[remote]") {
  registry_options o;
  o.referrers_api = false;
  with_client(o, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "errors/here");
    co_await push_image(repo, "v1");
    diagnostics d;

    // 404 with MANIFEST_UNKNOWN (the repository exists).
    auto [e1, r1] = co_await repo.async_fetch_reference("nope", d, as_tuple);
    CHECK(e1 == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "MANIFEST_UNKNOWN");
    CHECK(d.message().find("response status code 404") != std::string::npos);

    // 404 with NAME_UNKNOWN (no such repository).
    auto other = repo_on(c, srv, "errors/absent");
    auto [e2, r2] = co_await other.async_list_tags(d, as_tuple);
    CHECK(e2 == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "NAME_UNKNOWN");

    // 404 without an OCI body (a HEAD has none): still not_found, no entries.
    auto [e3, r3] = co_await other.async_resolve("v1", d, as_tuple);
    CHECK(e3 == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.empty());

    // Other statuses: their codes, and the registry's text.
    coras::server::status_fault denied;
    denied.status = 403;
    denied.path_contains = "/manifests/";
    srv.inject_status(denied);
    auto [e4, r4] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(e4 == errc::denied);
    srv.inject_status(denied);
    auto [e5, r5] = co_await repo.async_fetch_reference("v1", d, as_tuple);
    CHECK(e5 == errc::denied);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "DENIED");
    CHECK(d.message().find("injected fault") != std::string::npos);

    // Success clears the diagnostics.
    auto [e6, r6] = co_await repo.async_resolve("v1", d, as_tuple);
    CHECK(!e6);
    CHECK(d.message().empty());
  });
}

TEST_CASE("remote: the default token throws the words, not only the code", "[remote][errors]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "words/here");
    co_await push_image(repo, "v1");

    // A registry's answer: code, sentence and the errors[] list, no diagnostics object.
    std::optional<coras::error> caught;
    try {
      co_await repo.async_fetch_reference("nope");
    } catch (const coras::error& e) {
      caught = e;
    }
    REQUIRE(caught);
    CHECK(caught->code() == errc::not_found);
    CHECK(std::string(caught->what()).find("response status code 404") != std::string::npos);
    REQUIRE(caught->registry() != nullptr);
    CHECK(caught->registry()->errors.at(0).code == "MANIFEST_UNKNOWN");

    // A client-side failure: its sentence, not the category's text.
    caught.reset();
    try {
      co_await repo.async_resolve("not a tag!");
    } catch (const coras::error& e) {
      caught = e;
    }
    REQUIRE(caught);
    CHECK(caught->code() == errc::invalid_reference);
    CHECK(caught->registry() == nullptr);
    CHECK(std::string(caught->what()).find("not a tag!") != std::string::npos);

    // The same through with_diagnostics around another token, and success.
    auto desc = co_await repo.async_resolve("v1", coras::with_diagnostics(use_awaitable));
    CHECK(desc.size > 0);
  });
}

TEST_CASE("remote: a small manifest is read in its operation: its connection is free at once",
          "[remote]") {
  with_registry({}, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    coras::http::client_options o;
    o.max_connections_per_origin = 1;
    client c(ex, o);
    auto repo = repo_on(c, srv, "small/manifest");
    auto want = co_await push_image(repo, "v1");
    auto json = co_await repo.async_fetch_bytes(want);

    // With one connection, a reader still streaming its manifest would hold
    // it and the resolve below would wait for ever (cancelled after 2 s).
    auto f = co_await repo.async_fetch_reference("v1");
    asio::cancellation_signal give_up;
    asio::steady_timer timer(ex, 2s);
    timer.async_wait([&](auto) { give_up.emit(asio::cancellation_type::terminal); });
    auto [ec, resolved] =
        co_await repo.async_resolve("v1", asio::bind_cancellation_slot(give_up.slot(), as_tuple));
    timer.cancel();
    CHECK(!ec);
    CHECK(resolved.digest == want.digest);

    // Read whole (verified), then again after a seek back to the start.
    auto first = co_await f.body.async_read_all(1 << 20);
    CHECK(first == json);
    co_await f.body.async_seek(0);
    auto again = co_await f.body.async_read_all(1 << 20);
    CHECK(again == json);
    // Under a limit below its size: refused, as for a streamed body.
    auto g = co_await repo.async_fetch(want);
    auto [e2, s2] = co_await g.async_read_all(10, as_tuple);
    CHECK(e2 == errc::size_limit_exceeded);
  });
}

TEST_CASE("remote: a single_threaded client works without a strand on its io_context's thread",
          "[remote][single-threaded]") {
  // with_registry runs one thread: the promise client_options::single_threaded asks for.
  with_registry({}, [](auto ex, coras::server::registry& srv) -> asio::awaitable<void> {
    coras::http::client_options o;
    o.single_threaded = true;
    o.max_connections_per_origin = 4;
    client c(ex, o);
    auto repo = repo_on(c, srv, "single/threaded");
    auto want = co_await push_image(repo, "v1");

    // Operations at once (more than the connections), each completing.
    int right = 0;
    auto both = [&]() -> asio::awaitable<void> {  // lives as long as the coroutines
      right += co_await names(repo, "v1", want);
      auto f = co_await repo.async_fetch_reference("v1");
      auto json = co_await f.body.async_read_all(1 << 20);
      right += descriptor::for_content(want.media_type, json).digest == want.digest;
    };
    std::vector<asio::awaitable<void>> ops;
    for (int i = 0; i < 12; ++i) ops.push_back(both());
    co_await coras::test::run_all(std::move(ops));
    CHECK(right == 24);

    // A blob streamed through its reader, verified at its end.
    const auto bytes = random_bytes(3 << 20, 4);
    auto blob = co_await repo.async_push_bytes("application/octet-stream", bytes);
    auto reader = co_await repo.async_fetch(blob);
    auto streamed = co_await read_streamed(reader);
    CHECK(same(streamed, bytes));

    // A reader dropped on another thread gives its place back through the
    // client's executor, not from that thread: with one connection, the
    // resolve after it would otherwise wait for ever (cancelled after 2 s).
    coras::http::client_options one = o;
    one.max_connections_per_origin = 1;
    client lone(ex, one);
    auto lone_repo = repo_on(lone, srv, "single/threaded");
    {
      auto held = co_await lone_repo.async_fetch(blob);
      std::thread dropper([r = std::move(held)]() mutable { r = {}; });
      dropper.join();
    }
    asio::cancellation_signal give_up;
    asio::steady_timer timer(ex, 2s);
    timer.async_wait([&](auto) { give_up.emit(asio::cancellation_type::terminal); });
    auto [rec, resolved] = co_await lone_repo.async_resolve(
        "v1", asio::bind_cancellation_slot(give_up.slot(), as_tuple));
    timer.cancel();
    CHECK(!rec);
    CHECK(resolved.digest == want.digest);

    // An operation started on another thread reaches the client through its
    // executor, and completes on it.
    bool started_elsewhere = false;
    std::thread starter([&] {
      repo.async_resolve("v1", [&](boost::system::error_code e, descriptor got) {
        started_elsewhere = !e && got.digest == want.digest;
      });
    });
    starter.join();
    for (int i = 0; i < 200 && !started_elsewhere; ++i) {
      asio::steady_timer tick(ex, 10ms);
      co_await tick.async_wait(as_tuple);
    }
    CHECK(started_elsewhere);

    // Time limits are kept on this thread too.
    coras::http::client_options quick = o;
    quick.timeouts.response_header = 300ms;
    client impatient(ex, quick);
    auto slow_repo = repo_on(impatient, srv, "single/threaded");
    coras::server::delay_fault stall;
    stall.before_headers = 3s;
    srv.inject_delay(stall);
    auto [ec, d] = co_await slow_repo.async_resolve("v1", as_tuple);
    CHECK(ec == errc::timeout);
  });
}

TEST_CASE("remote: a blob reader's failed read has its words the way every operation does",
          "[remote][errors]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "words/reader");
    co_await push_image(repo, "v1");
    // By tag, the header's (wrong) digest is believed, so each body read
    // fails verification at its end.
    auto wrong = fault("/manifests/", "GET");
    wrong.count = 4;
    wrong.set = {{"Docker-Content-Digest", coras::digest::of("other").str()}};
    srv.inject_headers(wrong);
    const std::string words = "does not match the expected " + coras::digest::of("other").str();

    // A diagnostics& with as_tuple: the sentence.
    diagnostics d;
    auto r1 = co_await repo.async_fetch_reference("v1");
    auto [e1, s1] = co_await r1.body.async_read_all(1 << 20, d, as_tuple);
    CHECK(e1 == errc::digest_mismatch);
    CHECK(d.message().find(words) != std::string::npos);

    // The default token: a coras::error carrying the same sentence.
    auto r2 = co_await repo.async_fetch_reference("v1");
    std::optional<coras::error> caught;
    try {
      co_await r2.body.async_read_all(1 << 20);
    } catch (const coras::error& e) {
      caught = e;
    }
    REQUIRE(caught);
    CHECK(caught->code() == errc::digest_mismatch);
    CHECK(std::string(caught->what()) == d.message());

    // Streaming reads take the diagnostics& too.
    auto r3 = co_await repo.async_fetch_reference("v1");
    diagnostics d3;
    char buf[100];
    coras::error_code e3;
    while (!e3) {
      auto [ec, n] = co_await r3.body.async_read_some(asio::buffer(buf), d3, as_tuple);
      e3 = ec;
    }
    CHECK(e3 == errc::digest_mismatch);
    CHECK(d3.message() == d.message());

    // The deprecated diag() still reports a read given neither.
    auto r4 = co_await repo.async_fetch_reference("v1");
    auto [e4, s4] = co_await r4.body.async_read_all(1 << 20, as_tuple);
    CHECK(e4 == errc::digest_mismatch);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(r4.body.diag().message() == d.message());
#pragma GCC diagnostic pop
  });
}

TEST_CASE("remote: tag pagination, hostile Link headers, the page cap, warnings", "[remote]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto o = plain_options();
    o.tag_list_page_size = 2;
    std::vector<std::string> warnings;
    o.on_warning = [&](const coras::http::warning& w) { warnings.push_back(w.text); };
    auto repo = repo_on(c, srv, "pages/tags", o);
    auto m = co_await push_image(repo, "t0");
    for (int i = 1; i < 7; ++i) co_await repo.async_tag(m, "t" + std::to_string(i));

    std::vector<std::vector<std::string>> pages;
    co_await repo.async_tags({}, [&](std::span<const std::string> p) {
      pages.emplace_back(p.begin(), p.end());
      return true;
    });
    REQUIRE(pages.size() == 4);
    CHECK(pages[0] == std::vector<std::string>{"t0", "t1"});
    CHECK(pages[3] == std::vector<std::string>{"t6"});
    auto all = co_await repo.async_list_tags();
    CHECK(all.size() == 7);
    std::vector<std::string> after;
    co_await repo.async_tags("t4", [&](std::span<const std::string> p) {
      after.insert(after.end(), p.begin(), p.end());
      return true;
    });
    CHECK(after == std::vector<std::string>{"t5", "t6"});

    // A Link to another origin is refused after the page that carried it.
    diagnostics d;
    auto evil = fault("/tags/list", "GET");
    evil.set = {{"Link", "<http://evil.example:1/v2/pages/tags/tags/list?n=2>; rel=\"next\""}};
    srv.inject_headers(evil);
    int seen = 0;
    auto [e1] = co_await repo.async_tags(
        {}, [&](std::span<const std::string>) { return ++seen, true; }, d, as_tuple);
    CHECK(e1 == errc::invalid_response);
    CHECK(seen == 1);
    CHECK(d.message().find("another origin") != std::string::npos);

    // A registry that links forever is stopped at max_pages.
    auto capped = o;
    capped.max_pages = 3;
    auto loop_repo = repo_on(c, srv, "pages/tags", capped);
    auto loop = fault("/tags/list", "GET");
    loop.count = 10;
    loop.set = {{"Link", "</v2/pages/tags/tags/list?n=2>; rel=\"next\""}};
    srv.inject_headers(loop);
    seen = 0;
    auto [e2] = co_await loop_repo.async_tags(
        {}, [&](std::span<const std::string>) { return ++seen, true; }, d, as_tuple);
    CHECK(e2 == errc::invalid_response);
    CHECK(seen == 3);
    srv.clear_faults();

    // Warning headers reach the repository's handler.
    auto warn = fault("/manifests/", "HEAD");
    warn.set = {{"Warning", "299 - \"this repository is deprecated\""}};
    srv.inject_headers(warn);
    co_await repo.async_resolve("t0");
    CHECK(warnings == std::vector<std::string>{"this repository is deprecated"});
    // Without a handler (the default) they are ignored, not an error.
    auto quiet = repo_on(c, srv, "pages/tags", plain_options());
    srv.inject_headers(warn);
    auto [e, resolved] = co_await quiet.async_resolve("t0", as_tuple);
    CHECK_FALSE(e);
    CHECK(resolved.digest == m.digest);
  });
}

TEST_CASE("remote: a registry that does not mount gets the blob uploaded", "[remote]") {
  registry_options o;
  o.mount = false;
  with_client(o, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto src = repo_on(c, srv, "mount/src");
    auto dst = repo_on(c, srv, "mount/dst");
    const auto bytes = random_bytes(40'000, 13);
    auto desc = co_await src.async_push_bytes("application/octet-stream", bytes);
    srv.clear_request_log();
    // No content factory: streamed from the source repository.
    co_await dst.async_mount(desc, "mount/src", nullptr);
    auto log = srv.recent_requests();
    REQUIRE(log.size() == 3);  // POST ?mount (202), GET from src, PUT
    CHECK(log[0].status == 202);
    CHECK(log[1].target.find("/v2/mount/src/blobs/") == 0);
    CHECK(log[2].method == "PUT");
    auto got = co_await dst.async_fetch_bytes(desc);
    CHECK(same(got, bytes));

    // A source that does not have the blob: the mount fails with its error.
    diagnostics d;
    auto missing = descriptor::for_content("application/octet-stream", "absent");
    auto [e1] = co_await dst.async_mount(missing, "mount/src", nullptr, d, as_tuple);
    CHECK(e1 == errc::not_found);
    CHECK(d.message().find("cannot read source blob") != std::string::npos);
  });
}

TEST_CASE("remote: push and tag with several tags: one PUT, or one per tag when not honoured",
          "[remote][tags]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "tags/n");
    auto image = co_await push_image(repo, "v0");
    auto json = co_await repo.async_fetch_bytes(image);
    auto manifest_puts = [&srv] {
      std::vector<std::string> out;
      for (const auto& r : srv.recent_requests())
        if (r.method == "PUT" && r.target.find("/manifests/") != std::string::npos)
          out.push_back(r.target.substr(r.target.find("/manifests/") + 11));
      return out;
    };

    // Honoured: one PUT by digest carries every tag (a repeat counts once).
    srv.clear_request_log();
    std::vector<std::string> tags{"1.2.3", "1.2", "latest", "1.2"};
    co_await repo.async_push_reference_n(image, coras::memory_source(json), tags);
    CHECK(manifest_puts() ==
          std::vector<std::string>{image.digest.str() + "?tag=1.2.3&tag=1.2&tag=latest"});
    for (std::string t : {"1.2.3", "1.2", "latest"}) CHECK(co_await names(repo, t, image));

    // Tagging: GET by digest, then one PUT.
    srv.clear_request_log();
    std::vector<std::string> more{"a", "b"};
    co_await repo.async_tag_n(image, more);
    CHECK(manifest_puts() == std::vector<std::string>{image.digest.str() + "?tag=a&tag=b"});
    const std::string b = "b";
    CHECK(co_await names(repo, b, image));

    // One tag: a plain PUT by tag.
    srv.clear_request_log();
    std::vector<std::string> one{"solo"};
    co_await repo.async_tag_n(image, one);
    CHECK(manifest_puts() == std::vector<std::string>{"solo"});

    // A tag that is not one: refused before any request.
    srv.clear_request_log();
    std::vector<std::string> bad{"ok", image.digest.str()};
    diagnostics d;
    auto [e1] = co_await repo.async_tag_n(image, bad, d, as_tuple);
    CHECK(e1 == errc::invalid_reference);
    CHECK(srv.recent_requests().empty());

    // Partly honoured (the registry confirms only some): the rest one by one.
    auto partial = fault("/manifests/", "PUT");
    partial.set = {{"OCI-Tag", "p1"}};
    srv.inject_headers(partial);
    srv.clear_request_log();
    std::vector<std::string> three{"p1", "p2", "p3"};
    co_await repo.async_tag_n(image, three);
    CHECK(manifest_puts() ==
          std::vector<std::string>{image.digest.str() + "?tag=p1&tag=p2&tag=p3", "p2", "p3"});

    // Not honoured (no OCI-Tag, as distribution 2.8 answers): one PUT per tag,
    // and this handle sends no ?tag= again.
    auto ignored = fault("/manifests/", "PUT");
    ignored.remove = {"OCI-Tag"};
    srv.inject_headers(ignored);
    srv.clear_request_log();
    std::vector<std::string> two{"x1", "x2"};
    co_await repo.async_tag_n(image, two);
    CHECK(manifest_puts() ==
          std::vector<std::string>{image.digest.str() + "?tag=x1&tag=x2", "x1", "x2"});
    srv.clear_request_log();
    std::vector<std::string> next{"y1", "y2"};
    co_await repo.async_push_reference_n(image, coras::memory_source(json), next);
    CHECK(manifest_puts() == std::vector<std::string>{"y1", "y2"});
    for (std::string t : {"x1", "x2", "y1", "y2"}) CHECK(co_await names(repo, t, image));
  });
}

TEST_CASE("remote: a blob with a sha512 descriptor: pushed, fetched, verified",
          "[remote][sha512]") {
  temp_dir root;
  registry_options o;
  o.root = root.path();
  const auto dir = root.path();
  with_client(o, [dir](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "alg/sha512");
    const auto bytes = random_bytes(200'000, 17);
    descriptor desc;
    desc.media_type = "application/octet-stream";
    desc.digest = coras::digest::of(bytes, coras::digest_algorithm::sha512);
    desc.size = static_cast<std::int64_t>(bytes.size());

    srv.clear_request_log();
    co_await repo.async_push(desc, coras::memory_source(bytes));
    bool posted = false, put = false;
    for (const auto& r : srv.recent_requests()) {
      posted |= r.method == "POST" && r.target.ends_with("/blobs/uploads/?digest-algorithm=sha512");
      put |= r.method == "PUT" && r.status == 201 &&
             r.target.find(std::string(desc.digest.hex())) != std::string::npos;
    }
    CHECK(posted);
    CHECK(put);
    CHECK(co_await repo.async_exists(desc));
    auto got = co_await repo.async_fetch_bytes(desc);
    CHECK(same(got, bytes));

    // Mounted into another repository under its sha512 digest.
    auto other = repo_on(c, srv, "alg/other");
    co_await other.async_mount(desc, "alg/sha512", nullptr);
    auto mounted = co_await other.async_fetch_bytes(desc);
    CHECK(same(mounted, bytes));

    // Content that does not match its sha512 descriptor is refused, pushing
    // and fetching.
    diagnostics d;
    auto wrong = desc;
    wrong.digest = coras::digest::of(random_bytes(10, 1), coras::digest_algorithm::sha512);
    auto [e1] = co_await repo.async_push(wrong, coras::memory_source(bytes), d, as_tuple);
    CHECK(e1);
    CHECK_FALSE(co_await repo.async_exists(wrong));
    {
      // The stored bytes change behind the registry's back (same size).
      std::ofstream f(dir / "blobs" / "sha512" / std::string(desc.digest.hex()),
                      std::ios::binary | std::ios::trunc);
      f << std::string(bytes.size(), 'x');
    }
    auto [e2, none] = co_await repo.async_fetch_bytes(desc, d, as_tuple);
    CHECK(e2 == errc::digest_mismatch);
    CHECK(d.message().find(desc.digest.str()) != std::string::npos);
  });
}

TEST_CASE("remote: docker.io names and reference parsing", "[remote]") {
  asio::io_context ioc;
  client c(ioc.get_executor());
  repository hub(c, "docker.io/alpine");
  CHECK(hub.ref().repository() == "library/alpine");
  CHECK(repository(c, "docker.io/org/app").ref().repository() == "org/app");
  CHECK(repository(c, "ghcr.io/alpine").ref().repository() == "alpine");
  auto r = hub.parse_reference("3.20");
  CHECK(r.str() == "docker.io/library/alpine:3.20");
  CHECK_THROWS_AS(hub.parse_reference("quay.io/other:1"), coras::error);
  CHECK_THROWS_AS(repository(c, "not a reference"), coras::error);
  coras::remote::registry reg(c, "docker.io");
  CHECK(reg.repository("busybox").ref().repository() == "library/busybox");
}

namespace {

asio::awaitable<descriptor> attach(repository& repo, const descriptor& subject, std::string type,
                                   std::string note) {
  co_return co_await repo.async_push_bytes(
      std::string(coras::media_type::oci_manifest),
      coras::test::artifact_json(subject, std::move(type), std::move(note)));
}

std::size_t count_requests(const coras::server::registry& srv, std::string_view method,
                           std::string_view path_part) {
  std::size_t n = 0;
  for (const auto& r : srv.recent_requests())
    if (r.method == method && r.target.find(path_part) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("remote: a listing is capped in total bytes and entries", "[remote][security]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto o = plain_options();
    o.tag_list_page_size = 3;
    o.referrer_list_page_size = 2;
    auto repo = repo_on(c, srv, "caps/tags", o);
    auto m = co_await push_image(repo, "t00");
    for (int i = 1; i < 10; ++i) co_await repo.async_tag(m, "t0" + std::to_string(i));
    for (int i = 0; i < 5; ++i)
      co_await attach(repo, m, "application/vnd.example.sig", std::to_string(i));
    CHECK((co_await repo.async_list_tags()).size() == 10);  // the defaults allow it

    struct row {
      std::string name;
      std::uint64_t bytes, entries;
      std::string option;
    };
    const std::vector<row> rows = {
        {"entries", 0, 7, "repository_options::max_listing_entries"},
        {"bytes", 60, 0, "repository_options::max_listing_bytes"},
    };
    for (const auto& r : rows) {
      INFO(r.name);
      auto capped = o;
      capped.max_listing_bytes = r.bytes;
      capped.max_listing_entries = r.entries;
      auto small = repo_on(c, srv, "caps/tags", capped);
      diagnostics d;
      auto [e1, all] = co_await small.async_list_tags(d, as_tuple);
      CHECK(e1 == errc::size_limit_exceeded);
      CHECK(d.message().find(r.option) != std::string::npos);
      // Streaming stops there too: the pages within the cap were handed out.
      std::size_t seen = 0;
      diagnostics d2;
      auto [e2] = co_await small.async_tags(
          {}, [&](std::span<const std::string> p) { return seen += p.size(), true; }, d2, as_tuple);
      CHECK(e2 == errc::size_limit_exceeded);
      CHECK(seen > 0);
      CHECK(seen < 10);
    }

    // Referrers: five, two per page; at most three entries.
    auto capped = o;
    capped.max_listing_entries = 3;
    auto small = repo_on(c, srv, "caps/tags", capped);
    diagnostics d;
    auto [e3, refs] = co_await small.async_list_referrers(m, "", d, as_tuple);
    CHECK(e3 == errc::size_limit_exceeded);
    CHECK(d.message().find("max_listing_entries") != std::string::npos);
    capped.max_listing_entries = 5;  // exactly at the cap is fine
    auto enough = repo_on(c, srv, "caps/tags", capped);
    CHECK((co_await enough.async_list_referrers(m, "")).size() == 5);
  });
}

TEST_CASE("remote: the Referrers API, its filter, pages, and OCI-Subject", "[remote][referrers]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto o = plain_options();
    o.referrer_list_page_size = 2;
    auto repo = repo_on(c, srv, "referrers/api", o);
    auto subject = co_await push_image(repo, "v1");
    srv.clear_request_log();
    // The registry processes the subject (OCI-Subject): learnt, and no index written.
    co_await attach(repo, subject, "application/vnd.example.sbom", "0");
    CHECK(repo.referrers_capability() == std::optional<bool>(true));
    for (int i = 1; i < 5; ++i)
      co_await attach(repo, subject,
                      i % 2 ? "application/vnd.example.sig" : "application/vnd.example.sbom",
                      std::to_string(i));
    CHECK(count_requests(srv, "PUT", "/manifests/sha256-") == 0);

    // Five referrers, two per page.
    std::vector<std::size_t> pages;
    co_await repo.async_referrers(subject, "", [&](std::span<const descriptor> p) {
      pages.push_back(p.size());
      return true;
    });
    CHECK(pages == std::vector<std::size_t>{2, 2, 1});

    // Server-side filtering (the registry says so in OCI-Filters-Applied).
    srv.clear_request_log();
    auto sboms = co_await repo.async_list_referrers(subject, "application/vnd.example.sbom");
    CHECK(sboms.size() == 3);
    auto log = srv.recent_requests();
    REQUIRE(!log.empty());
    CHECK(log[0].target.find("artifactType=application%2Fvnd.example.sbom") != std::string::npos);
    // Without the header the client filters itself, with the same result.
    auto strip = fault("/referrers/", "GET");
    strip.count = 10;
    strip.remove = {"OCI-Filters-Applied"};
    srv.inject_headers(strip);
    auto sigs = co_await repo.async_list_referrers(subject, "application/vnd.example.sig");
    CHECK(sigs.size() == 2);
    for (const auto& d : sigs) CHECK(d.artifact_type == "application/vnd.example.sig");
    srv.clear_faults();

    // The capability is set once.
    CHECK(!repo.set_referrers_capability(true));
    CHECK(repo.set_referrers_capability(false) == errc::referrers_capability_conflict);
  });
}

TEST_CASE("remote: without the Referrers API: fallback, shared ping, NAME_UNKNOWN",
          "[remote][referrers]") {
  registry_options ro;
  ro.referrers_api = false;
  with_client(ro, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    // Listing with the capability unknown: 404 without NAME_UNKNOWN → tag schema.
    auto repo = repo_on(c, srv, "referrers/none");
    auto subject = co_await push_image(repo, "v1");
    std::vector<descriptor> attached;
    for (int i = 0; i < 4; ++i)
      attached.push_back(
          co_await attach(repo, subject, "application/vnd.example.sbom", std::to_string(i)));
    auto lister = repo_on(c, srv, "referrers/none");  // a fresh handle: capability unknown
    auto listed = co_await lister.async_list_referrers(subject, "");
    CHECK(listed.size() == 4);
    CHECK(lister.referrers_capability() == std::optional<bool>(false));

    // Deletes with the capability unknown ping once, whoever asks concurrently.
    auto deleter = repo_on(c, srv, "referrers/none");
    srv.clear_request_log();
    std::vector<asio::awaitable<void>> deletes;
    for (const auto& d : attached)
      deletes.push_back([](repository r, descriptor t) -> asio::awaitable<void> {
        co_await r.async_delete(t);
      }(deleter, d));
    co_await coras::test::run_all(std::move(deletes));
    CHECK(count_requests(srv, "GET", "/referrers/sha256:0000") == 1);
    auto left = co_await deleter.async_list_referrers(subject, "");
    CHECK(left.empty());
  });
}

TEST_CASE("remote: a referrers 404 with NAME_UNKNOWN is an error, not a fallback",
          "[remote][referrers]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "referrers/absent");
    auto subject = descriptor::for_content(coras::media_type::oci_manifest, "{}");
    coras::server::status_fault f;
    f.status = 404;
    f.code = "NAME_UNKNOWN";
    f.path_contains = "/referrers/";
    srv.inject_status(f);
    diagnostics d;
    auto [ec, r] = co_await repo.async_list_referrers(subject, "", d, as_tuple);
    CHECK(ec == errc::not_found);
    REQUIRE(d.registry() != nullptr);
    CHECK(d.registry()->errors.at(0).code == "NAME_UNKNOWN");
    CHECK(!repo.referrers_capability().has_value());
    srv.clear_request_log();
    // A delete's ping that meets NAME_UNKNOWN fails the delete and learns nothing.
    auto other = repo_on(c, srv, "referrers/absent2");
    auto m = co_await push_image(other, "v1");
    auto art = co_await attach(other, m, "application/vnd.example.sbom", "x");
    CHECK(other.referrers_capability() == std::optional<bool>(true));  // OCI-Subject
    auto fresh = repo_on(c, srv, "referrers/absent2");
    f.path_contains = "/referrers/sha256:0000";
    srv.inject_status(f);
    auto [ec2] = co_await fresh.async_delete(art, d, as_tuple);
    CHECK(ec2 == errc::not_found);
    CHECK(!fresh.referrers_capability().has_value());
  });
}

TEST_CASE("remote: a failed delete of the old referrers index is referrers_gc_failed",
          "[remote][referrers]") {
  registry_options ro;
  ro.referrers_api = false;
  with_client(ro, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "referrers/gc");
    auto subject = co_await push_image(repo, "v1");
    co_await attach(repo, subject, "application/vnd.example.sbom", "1");
    auto old_index = co_await repo.async_resolve("sha256-" + std::string(subject.digest.hex()));
    coras::server::status_fault f;
    f.status = 403;
    f.path_contains = "/manifests/" + old_index.digest.str();
    srv.inject_status(f);
    diagnostics d;
    auto [ec, desc] = co_await repo.async_push_bytes(
        std::string(coras::media_type::oci_manifest),
        coras::test::artifact_json(subject, "application/vnd.example.sbom", "2"), d, as_tuple);
    CHECK(ec == errc::referrers_gc_failed);
    CHECK(d.message().find(old_index.digest.str()) != std::string::npos);
    // The push and the new index are in place; the old index is left behind.
    auto listed = co_await repo.async_list_referrers(subject, "");
    CHECK(listed.size() == 2);
    auto still_there = co_await repo.async_exists(old_index);
    CHECK(still_there);
  });
}

// Issue 17, item 9: other writers of the referrers tag, which the merge
// queue of one handle cannot see (other processes; here other clients).
TEST_CASE("remote: referrers tag schema: 20 attaches from 20 clients at once keep all 20",
          "[remote][referrers]") {
  registry_options ro;
  ro.referrers_api = false;
  with_client(ro, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto setup = repo_on(c, srv, "referrers/clients");
    auto subject = co_await push_image(setup, "v1");
    auto ex = co_await asio::this_coro::executor;
    // Each its own client (connection pool) and handle (merge queue).
    std::vector<std::unique_ptr<client>> clients;
    std::vector<asio::awaitable<void>> attaches;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<client>(ex));
      auto o = plain_options();
      o.referrers_index_backoff = std::chrono::milliseconds(5);
      attaches.push_back([](repository r, descriptor s, int n) -> asio::awaitable<void> {
        co_await attach(r, s, "application/vnd.example.sbom", std::to_string(n));
      }(repo_on(*clients.back(), srv, "referrers/clients", o), subject, i));
    }
    co_await coras::test::run_all(std::move(attaches));
    auto all = co_await setup.async_list_referrers(subject, "");
    std::set<std::string> notes;
    for (const auto& d : all) notes.insert(d.annotations.at("note"));
    INFO(all.size() << " of 20 referrers listed");
    CHECK(all.size() == 20);
    CHECK(notes.size() == 20);
  });
}

TEST_CASE("remote: referrers tag schema: a 500 or a 404 while reading the tag is read again",
          "[remote][referrers]") {
  registry_options ro;
  ro.referrers_api = false;
  with_client(ro, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto o = plain_options();
    o.referrers_index_backoff = std::chrono::milliseconds(1);
    auto repo = repo_on(c, srv, "referrers/flaky", o);
    auto subject = co_await push_image(repo, "v1");
    co_await attach(repo, subject, "application/vnd.example.sbom", "1");
    co_await attach(repo, subject, "application/vnd.example.sbom", "2");
    // distribution answers 500 while another writer rewrites the tag's link:
    // the update reads again instead of failing.
    coras::server::status_fault f;
    f.status = 500;
    f.path_contains = "/manifests/sha256-";
    srv.inject_status(f);
    co_await attach(repo, subject, "application/vnd.example.sbom", "3");
    // A 404 while the tag holds an index (it named one just deleted) is read
    // again, not taken for "no referrers": nothing is dropped.
    f.status = 404;
    f.code = "MANIFEST_UNKNOWN";
    srv.inject_status(f);
    co_await attach(repo, subject, "application/vnd.example.sbom", "4");
    auto all = co_await repo.async_list_referrers(subject, "");
    CHECK(all.size() == 4);
  });
}

TEST_CASE(
    "remote: a referrers index update that other writers keep replacing fails, naming "
    "max_referrers_index_retries",
    "[remote][referrers]") {
  registry_options ro;
  ro.referrers_api = false;
  with_client(ro, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto setup = repo_on(c, srv, "referrers/rival");
    auto subject = co_await push_image(setup, "v1");
    const auto tag = "sha256-" + std::string(subject.digest.hex());
    auto ex = co_await asio::this_coro::executor;

    // A rival writes its own index under the tag every 10 ms (of manifests
    // that exist: the registry checks an index's children), so that every
    // read-back (after at least 20 ms) shows the rival's index.
    std::vector<descriptor> others;
    for (int i = 0; i < 3; ++i) {
      const auto json = coras::test::artifact_json(subject, "application/vnd.example.other",
                                                   "rival " + std::to_string(i));
      auto d = descriptor::for_content(coras::media_type::oci_manifest, json);
      auto plain = repo_on(c, srv, "referrers/rival");
      plain.set_referrers_capability(true);  // a plain push: no index update of its own
      co_await plain.async_push(d, coras::memory_source(json));
      others.push_back(d);
    }
    bool stop = false, rival_done = false;
    int rival_writes = 0;
    std::string rival_failure;
    client rival_client(ex);
    auto rival = repo_on(rival_client, srv, "referrers/rival");
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          try {
            asio::steady_timer timer(ex);
            while (!stop) {
              coras::image_index index;
              index.media_type = std::string(coras::media_type::oci_index);
              index.manifests = {others[static_cast<std::size_t>(rival_writes) % others.size()]};
              index.annotations["n"] = std::to_string(rival_writes);
              auto json = index.to_json();
              auto desc = descriptor::for_content(coras::media_type::oci_index, json);
              co_await rival.async_push_reference(desc, coras::memory_source(json), tag);
              ++rival_writes;
              timer.expires_after(std::chrono::milliseconds(10));
              co_await timer.async_wait(use_awaitable);
            }
          } catch (const std::exception& e) {
            rival_failure = e.what();
          }
          rival_done = true;
        },
        asio::detached);

    int our_index_writes = 0, our_index_reads = 0;
    coras::http::client_options co;
    co.on_request = [&](const coras::http::request_event& e) {
      if (e.url.find("/manifests/" + tag) == std::string::npos) return;
      if (e.method == "PUT") ++our_index_writes;
      if (e.method == "GET") ++our_index_reads;
    };
    client ours(ex, co);
    auto o = plain_options();
    o.max_referrers_index_retries = 3;
    o.referrers_index_backoff = std::chrono::milliseconds(20);
    auto repo = repo_on(ours, srv, "referrers/rival", o);
    const auto json = coras::test::artifact_json(subject, "application/vnd.example.sbom", "mine");
    const auto mine = descriptor::for_content(coras::media_type::oci_manifest, json);
    diagnostics d;
    auto [ec, desc] = co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest),
                                                     json, d, as_tuple);
    stop = true;
    asio::steady_timer wait(ex);
    while (!rival_done) {
      wait.expires_after(std::chrono::milliseconds(1));
      co_await wait.async_wait(use_awaitable);
    }
    CHECK(ec == errc::referrers_index_conflict);
    INFO(d.message());
    CHECK(d.message().find("repository_options::max_referrers_index_retries") != std::string::npos);
    CHECK(d.message().find("after 3 retries") != std::string::npos);
    CHECK(d.message().find(tag) != std::string::npos);
    // The first round and 3 retries: each reads the tag, and writes unless
    // the rival wrote between that read and the HEAD before the write.
    CHECK(our_index_writes <= 4);
    CHECK(our_index_reads >= 4);
    CHECK(rival_failure.empty());
    CHECK(rival_writes > 4);
    // The manifest itself was pushed.
    auto pushed = co_await setup.async_exists(mine);
    CHECK(pushed);
  });
}

TEST_CASE("remote: a push whose size is wrong opens no upload session", "[remote]") {
  with_client({}, [](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
    auto repo = repo_on(c, srv, "size/check");
    auto desc = descriptor::for_content("application/octet-stream", "twelve bytes");
    desc.size = 11;
    srv.clear_request_log();
    diagnostics d;
    auto [ec] = co_await repo.async_push(desc, coras::memory_source("twelve bytes"), d, as_tuple);
    CHECK(ec == errc::size_mismatch);
    CHECK(srv.recent_requests().empty());
  });
}

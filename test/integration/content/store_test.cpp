// The memory store and the OCI image layout store: the store contract
// (push, fetch, exists, resolve, tag, predecessors) on both, integrity
// (wrong content never stored, altered files never handed out), the
// layout's on-disk rules, and concurrent writers on a 2-thread io_context.
#include "helpers.hpp"

#include <coras/content/memory_store.hpp>
#include <coras/content/oci_layout.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <set>
#include <thread>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using coras::descriptor;
using coras::errc;
using coras::error_code;
using coras::content::memory_store;
using coras::content::oci_layout;
using coras::content::oci_layout_options;
using coras::content::store;
using coras::test::failure_of;
using coras::test::fetch_all;
using coras::test::random_bytes;
using coras::test::same;
using coras::test::temp_dir;
using coras::test::test_source;

namespace {

constexpr std::string_view ref_name = "org.opencontainers.image.ref.name";

template <class F>
auto run(F f) {
  return coras::test::run([&](auto) { return f(); });
}

// The contract every store keeps, checked the same way on each.
asio::awaitable<void> check_contract(store& s) {
  auto img = coras::test::make_image("contract");
  const auto& layer = img.layers[1];  // > 256 KiB: several file pieces

  auto had = co_await s.exists(layer.desc);
  CHECK_FALSE(had);
  auto missing = co_await failure_of(s.fetch(layer.desc));
  CHECK(missing == errc::not_found);

  co_await coras::test::push_image(s, img, "v1");
  for (const auto& b : img.all()) {
    auto has = co_await s.exists(b.desc);
    CHECK(has);
    auto bytes = co_await fetch_all(s, b.desc);
    CHECK(same(bytes, b.bytes));
  }

  // Small caller buffers stream the same bytes; the source vouches for them.
  auto src = co_await s.fetch(layer.desc);
  CHECK(src->size() == layer.bytes.size());
  CHECK(src->verified_digest() == layer.desc.digest);
  auto small = co_await coras::test::read_all(src, 1000);
  CHECK(same(small, layer.bytes));
  CHECK(src->rewind());
  auto again = co_await coras::test::read_all(src, 7 << 20);
  CHECK(same(again, layer.bytes));

  // A wrong size in the descriptor is refused, not served.
  auto wrong_size = layer.desc;
  wrong_size.size += 1;
  auto e_size = co_await failure_of(s.fetch(wrong_size));
  CHECK(e_size == errc::size_mismatch);

  // Resolve: by tag, by digest; tags move; names follow the layout grammar.
  auto by_tag = co_await s.resolve("v1");
  CHECK(by_tag.digest == img.manifest.desc.digest);
  CHECK(by_tag.size == img.manifest.desc.size);
  CHECK(by_tag.media_type == coras::media_type::oci_manifest);
  CHECK_FALSE(by_tag.annotations.contains(std::string(ref_name)));
  auto by_digest = co_await s.resolve(img.manifest.desc.digest.str());
  CHECK(by_digest.digest == img.manifest.desc.digest);
  CHECK(by_digest.media_type == coras::media_type::oci_manifest);
  auto no_tag = co_await failure_of(s.resolve("v2"));
  CHECK(no_tag == errc::not_found);
  auto bad = co_await failure_of(s.resolve("no spaces"));
  CHECK(bad == errc::invalid_reference);
  auto bad2 = co_await failure_of(s.resolve("-leading"));
  CHECK(bad2 == errc::invalid_reference);
  auto layer_as_manifest = co_await failure_of(s.resolve(layer.desc.digest.str()));
  CHECK(layer_as_manifest == errc::not_found);

  auto other = coras::test::make_image("other");
  co_await coras::test::push_image(s, other, "example.com/app:v1.0-rc_1");
  auto full_name = co_await s.resolve("example.com/app:v1.0-rc_1");
  CHECK(full_name.digest == other.manifest.desc.digest);
  co_await s.tag(other.manifest.desc, "v1");  // moves v1
  auto moved = co_await s.resolve("v1");
  CHECK(moved.digest == other.manifest.desc.digest);
  co_await s.tag(img.manifest.desc, "v1");  // and back
  auto back = co_await s.resolve("v1");
  CHECK(back.digest == img.manifest.desc.digest);

  // Tagging needs the content, and a digest "tag" must be the target's own.
  auto stranger = descriptor::for_content(coras::media_type::oci_manifest, R"({"x":1})");
  auto e_tag = co_await failure_of(s.tag(stranger, "nope"));
  CHECK(e_tag == errc::not_found);
  auto e_dig = co_await failure_of(s.tag(img.manifest.desc, other.manifest.desc.digest.str()));
  CHECK(e_dig == errc::invalid_reference);
  co_await s.tag(img.manifest.desc, img.manifest.desc.digest.str());  // nothing to do

  // Referrers: two artifacts refer to the image, one to the other image.
  auto sig = coras::test::make_referrer(img.manifest.desc, "application/vnd.example.sig", "a");
  auto sbom = coras::test::make_referrer(img.manifest.desc, "application/spdx+json", "b");
  auto elsewhere = coras::test::make_referrer(other.manifest.desc, "application/x", "c");
  auto empty = coras::empty_json_descriptor();
  auto empty_src = coras::memory_source(std::string(coras::empty_json));
  co_await s.push(empty, empty_src);
  std::vector<const coras::test::image::blob*> referrers{&sig, &sbom, &elsewhere, &sig};
  for (const auto* r : referrers) {  // sig twice: listed once
    auto rs = coras::memory_source(r->bytes);
    co_await s.push(r->desc, rs);
  }
  auto preds = co_await s.predecessors(img.manifest.desc);
  REQUIRE(preds);
  REQUIRE(preds->size() == 2);
  std::set<std::string> types;
  for (const auto& p : *preds) {
    types.insert(p.artifact_type);
    CHECK(p.media_type == coras::media_type::oci_manifest);
    CHECK((p.digest == sig.desc.digest || p.digest == sbom.desc.digest));
    CHECK(p.annotations.contains("note"));
  }
  CHECK(types == std::set<std::string>{"application/vnd.example.sig", "application/spdx+json"});
  auto preds_other = co_await s.predecessors(other.manifest.desc);
  REQUIRE(preds_other);
  REQUIRE(preds_other->size() == 1);
  CHECK(preds_other->front().digest == elsewhere.desc.digest);
  auto none = co_await s.predecessors(layer.desc);
  REQUIRE(none);
  CHECK(none->empty());
  // A referrer resolves by digest although no tag names it.
  auto sig_desc = co_await s.resolve(sig.desc.digest.str());
  CHECK(sig_desc.digest == sig.desc.digest);
}

// Pushes that must leave nothing behind: wrong digest, wrong size either way,
// a source that dies half-way. Returns after checking each is absent.
asio::awaitable<void> check_rejected_pushes(store& s) {
  auto bytes = random_bytes(700 * 1024, 3);
  auto d = descriptor::for_content(coras::media_type::oci_layer, bytes);

  auto altered = bytes;
  altered[500000] ^= 1;
  auto bad_digest = std::make_shared<test_source>(altered);
  auto e1 = co_await failure_of(s.push(d, bad_digest));
  CHECK(e1 == errc::digest_mismatch);

  // The same wrong bytes from a source vouching for another digest: still hashed.
  auto vouching = std::make_shared<test_source>(altered);
  vouching->claimed = coras::digest::of("something else");
  auto e2 = co_await failure_of(s.push(d, vouching));
  CHECK(e2 == errc::digest_mismatch);

  auto shorter = std::make_shared<test_source>(bytes.substr(0, bytes.size() - 1));
  shorter->announce_size = false;
  auto e3 = co_await failure_of(s.push(d, shorter));
  CHECK(e3 == errc::size_mismatch);

  auto longer = std::make_shared<test_source>(bytes + "!");
  longer->announce_size = false;
  auto e4 = co_await failure_of(s.push(d, longer));
  CHECK(e4 == errc::size_mismatch);

  auto announced = std::make_shared<test_source>(bytes + "!");
  auto e5 = co_await failure_of(s.push(d, announced));
  CHECK(e5 == errc::size_mismatch);
  CHECK(announced->reads == 0);  // refused before reading

  auto dying = std::make_shared<test_source>(bytes);
  dying->fail_after = 300 * 1024;
  auto e6 = co_await failure_of(s.push(d, dying));
  CHECK(e6 == errc::invalid_response);

  auto has = co_await s.exists(d);
  CHECK_FALSE(has);
  auto gone = co_await failure_of(s.fetch(d));
  CHECK(gone == errc::not_found);

  // The honest push then works, streamed, and a second one reads nothing.
  auto good = std::make_shared<test_source>(bytes);
  co_await s.push(d, good);
  auto stored = co_await fetch_all(s, d);
  CHECK(same(stored, bytes));
  auto unread = std::make_shared<test_source>(bytes);
  unread->fail_after = 0;  // would throw if read
  co_await s.push(d, unread);
  CHECK(unread->reads == 0);
}

}  // namespace

TEST_CASE("memory store: the store contract", "[content][memory]") {
  memory_store s;
  run([&]() { return check_contract(s); });
  CHECK(s.tags() == std::vector<std::string>{"example.com/app:v1.0-rc_1", "v1"});
  CHECK(s.describe() == "memory");
}

TEST_CASE("memory store: rejected pushes leave nothing", "[content][memory]") {
  memory_store s;
  run([&]() { return check_rejected_pushes(s); });
  CHECK(s.count() == 1);
  CHECK(s.total_bytes() == 700 * 1024);
}

TEST_CASE("oci layout: the store contract, and what is on disk", "[content][layout]") {
  temp_dir tmp;
  auto dir = tmp / "layout";  // missing: created
  std::string manifest_digest;
  {
    oci_layout s(dir);
    CHECK(s.describe() == "oci:" + dir.string());
    CHECK(coras::test::read_file(dir / "oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
    run([&]() { return check_contract(s); });
    CHECK(s.tags() == std::vector<std::string>{"example.com/app:v1.0-rc_1", "v1"});
  }
  // index.json: both names, and the three referrers without names.
  auto index = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
  CHECK(index.media_type == coras::media_type::oci_index);
  std::multiset<std::string> names;
  int unnamed = 0;
  for (const auto& m : index.manifests) {
    if (auto it = m.annotations.find(ref_name); it != m.annotations.end())
      names.insert(it->second);
    else
      ++unnamed;
  }
  CHECK(names == std::multiset<std::string>{"example.com/app:v1.0-rc_1", "v1"});
  CHECK(unnamed == 3);
  // Every blob sits at blobs/sha256/<hex> with its content; no temporary file is left.
  for (const auto& f : coras::test::files_under(dir / "blobs")) {
    auto content = coras::test::read_file(f);
    CHECK(coras::digest::of(content).hex() == f.filename().string());
  }
  CHECK(coras::test::files_under(dir / "ingest").empty());

  // Reopened: tags, referrers and digests are all still there.
  oci_layout again(dir);
  CHECK(again.tags() == std::vector<std::string>{"example.com/app:v1.0-rc_1", "v1"});
  run([&]() -> asio::awaitable<void> {
    auto v1 = co_await again.resolve("v1");
    auto preds = co_await again.predecessors(v1);
    REQUIRE(preds);
    CHECK(preds->size() == 2);
    auto img = co_await fetch_all(again, v1);
    auto m = coras::image_manifest::parse(img);
    for (const auto& l : m.layers) {
      auto bytes = co_await fetch_all(again, l);
      CHECK(bytes.size() == static_cast<std::size_t>(l.size));
    }
  });
}

TEST_CASE("oci layout: rejected pushes leave no file", "[content][layout]") {
  temp_dir tmp;
  oci_layout s(tmp / "layout");
  run([&]() { return check_rejected_pushes(s); });
  auto blobs = coras::test::files_under(tmp / "layout" / "blobs");
  CHECK(blobs.size() == 1);  // the honest one
  CHECK(coras::test::files_under(tmp / "layout" / "ingest").empty());
}

TEST_CASE("oci layout: an altered or truncated blob is never handed out", "[content][layout]") {
  temp_dir tmp;
  oci_layout_options pieces;
  pieces.io_piece_bytes = 1000;  // raised to the 256 KiB minimum
  oci_layout s(tmp / "layout", pieces);
  auto bytes = random_bytes(1000 * 1024, 5);  // three 256 KiB pieces and a shorter one
  auto d = descriptor::for_content(coras::media_type::oci_layer, bytes);
  auto small = random_bytes(10, 6);
  auto ds = descriptor::for_content(coras::media_type::oci_layer, small);
  auto empty = descriptor::for_content(coras::media_type::oci_layer, "");
  run([&]() -> asio::awaitable<void> {
    auto src = coras::memory_source(bytes);
    co_await s.push(d, src);
    auto src2 = coras::memory_source(small);
    co_await s.push(ds, src2);
    auto src3 = coras::memory_source(std::string());
    co_await s.push(empty, src3);
  });
  auto path = tmp / "layout" / "blobs" / "sha256" / std::string(d.digest.hex());
  REQUIRE(fs::file_size(path) == bytes.size());

  // The empty blob: its first read is the last one, and it verifies.
  auto empty_bytes = run([&]() { return fetch_all(s, empty); });
  CHECK(empty_bytes.empty());

  // One byte changed near the end, size kept: every piece before the last is
  // handed out, the read that reaches the end throws.
  auto altered = bytes;
  altered[bytes.size() - 10] ^= 0x20;
  coras::test::write_file(path, altered);
  for (std::size_t piece : {std::size_t(1000), std::size_t(256 * 1024), std::size_t(4 << 20)}) {
    auto [handed, failed] = run([&]() -> asio::awaitable<std::pair<std::size_t, error_code>> {
      auto src = co_await s.fetch(d);
      std::vector<char> buf(piece);
      std::size_t total = 0;
      error_code code;
      try {
        for (;;) {
          auto n = co_await src->read(asio::mutable_buffer(buf.data(), buf.size()));
          if (n == 0) break;
          total += n;
        }
      } catch (const boost::system::system_error& e) {
        code = e.code();
      }
      co_return std::make_pair(total, code);
    });
    INFO("caller buffer " << piece);
    CHECK(failed == errc::digest_mismatch);
    CHECK(handed == 3 * 256 * 1024);  // the file's last piece is withheld
  }

  // An altered small blob, read with a big buffer: the only read throws.
  auto small_path = tmp / "layout" / "blobs" / "sha256" / std::string(ds.digest.hex());
  coras::test::write_file(small_path, "0123456789");
  auto e_small = run([&]() { return failure_of(fetch_all(s, ds)); });
  CHECK(e_small == errc::digest_mismatch);

  // Truncated: refused at fetch (the file is not the descriptor's size).
  coras::test::write_file(path, bytes.substr(0, 1000));
  auto e_short = run([&]() { return failure_of(s.fetch(d)); });
  CHECK(e_short == errc::size_mismatch);
  auto has = run([&]() { return s.exists(d); });
  CHECK_FALSE(has);

  // A push of the real content repairs it (the file's size is wrong, so it is rewritten).
  run([&]() -> asio::awaitable<void> {
    auto src = coras::memory_source(bytes);
    co_await s.push(d, src);
  });
  auto repaired = run([&]() { return fetch_all(s, d); });
  CHECK(same(repaired, bytes));

  // A symbolic link in place of a blob is not followed.
  auto link = tmp / "layout" / "blobs" / "sha256" / std::string(ds.digest.hex());
  fs::remove(link);
  coras::test::write_file(tmp / "outside", small);
  fs::create_symlink(tmp / "outside", link);
  auto e_link = run([&]() { return failure_of(s.fetch(ds)); });
  CHECK(e_link == errc::unsupported);
  auto link_exists = run([&]() { return s.exists(ds); });
  CHECK_FALSE(link_exists);
}

TEST_CASE("oci layout: a blob file of the right size with other bytes is not there",
          "[content][layout][security]") {
  // A copy skips what exists() reports: a damaged or planted file of the
  // right size must not count, or the copy leaves the wrong blob.
  temp_dir tmp;
  auto bytes = random_bytes(600 * 1024, 8);
  auto d = descriptor::for_content(coras::media_type::oci_layer, bytes);
  {
    oci_layout writer(tmp / "layout");
    run([&]() -> asio::awaitable<void> {
      auto src = coras::memory_source(bytes);
      co_await writer.push(d, src);
    });
  }
  auto path = tmp / "layout" / "blobs" / "sha256" / std::string(d.digest.hex());
  auto altered = bytes;
  altered[100] ^= 0x01;
  coras::test::write_file(path, altered);

  oci_layout s(tmp / "layout");
  auto has = run([&]() { return s.exists(d); });
  CHECK_FALSE(has);
  // A push replaces it (it used to keep the file, its size being right).
  run([&]() -> asio::awaitable<void> {
    auto src = coras::memory_source(bytes);
    co_await s.push(d, src);
  });
  CHECK(same(coras::test::read_file(path), bytes));
  auto now = run([&]() { return s.exists(d); });
  CHECK(now);

  // Off: the size alone decides (the old behaviour), and fetch still refuses.
  coras::test::write_file(path, altered);
  oci_layout_options trusting;
  trusting.verify_existing_blobs = false;
  oci_layout fast(tmp / "layout", trusting);
  auto fast_has = run([&]() { return fast.exists(d); });
  CHECK(fast_has);
  auto e = run([&]() { return failure_of(fetch_all(fast, d)); });
  CHECK(e == errc::digest_mismatch);
}

TEST_CASE("oci layout: a verified source is copied without hashing twice",
          "[content][layout][memory]") {
  // Layout → memory → layout: each hop's source vouches for its digest.
  temp_dir tmp;
  oci_layout a(tmp / "a");
  memory_store m;
  oci_layout b(tmp / "b");
  auto img = coras::test::make_image("hops");
  run([&]() -> asio::awaitable<void> {
    co_await coras::test::push_image(a, img, "v1");
    for (const auto& blob : img.all()) {
      auto from_a = co_await a.fetch(blob.desc);
      co_await m.push(blob.desc, from_a);
      auto from_m = co_await m.fetch(blob.desc);
      co_await b.push(blob.desc, from_m);
    }
    auto root = co_await a.resolve("v1");
    co_await b.tag(root, "v1");
  });
  for (const auto& blob : img.all()) {
    auto p = tmp / "b" / "blobs" / "sha256" / std::string(blob.desc.digest.hex());
    CHECK(same(coras::test::read_file(p), blob.bytes));
  }
  CHECK(b.tags() == std::vector<std::string>{"v1"});
}

TEST_CASE("oci layout: with fsync on, and a removed ingest directory", "[content][layout]") {
  temp_dir tmp;
  oci_layout_options durable;
  durable.sync = true;
  oci_layout s(tmp / "layout", durable);
  auto img = coras::test::make_image("durable");
  run([&]() { return coras::test::push_image(s, img, "v1"); });
  fs::remove_all(tmp / "layout" / "ingest");  // scratch space: coras recreates it
  auto other = coras::test::make_image("after");
  run([&]() { return coras::test::push_image(s, other, "v2"); });
  oci_layout again(tmp / "layout");
  CHECK(again.tags() == std::vector<std::string>{"v1", "v2"});
  for (const auto* i : {&img, &other})
    for (const auto& b : i->all()) {
      auto bytes = run([&]() { return fetch_all(again, b.desc); });
      CHECK(same(bytes, b.bytes));
    }
}

TEST_CASE("oci layout: with a work executor, the contract and the integrity rules hold",
          "[content][layout][work]") {
  temp_dir tmp;
  asio::thread_pool pool(2);
  oci_layout_options o;
  o.work_executor = pool.get_executor();
  {
    oci_layout s(tmp / "contract", o);
    run([&]() { return check_contract(s); });
  }
  {
    oci_layout s(tmp / "rejected", o);
    run([&]() { return check_rejected_pushes(s); });
    CHECK(coras::test::files_under(tmp / "rejected" / "blobs").size() == 1);  // the honest one
    CHECK(coras::test::files_under(tmp / "rejected" / "ingest").empty());
  }
  // An altered file is still never handed out: its last piece throws.
  oci_layout s(tmp / "altered", o);
  auto bytes = random_bytes(600 * 1024, 8);
  auto d = descriptor::for_content(coras::media_type::oci_layer, bytes);
  run([&]() -> asio::awaitable<void> { co_await s.push(d, coras::memory_source(bytes)); });
  auto path = tmp / "altered" / "blobs" / "sha256" / std::string(d.digest.hex());
  auto altered = bytes;
  altered[599 * 1024] ^= 1;
  coras::test::write_file(path, altered);
  auto e = run([&]() { return failure_of(fetch_all(s, d)); });
  CHECK(e == errc::digest_mismatch);
  pool.join();
}

TEST_CASE("oci layout: with a work executor, file work leaves the caller's thread free",
          "[content][layout][work]") {
  temp_dir tmp;
  asio::thread_pool pool(1);
  oci_layout_options o;
  o.work_executor = pool.get_executor();
  auto bytes = random_bytes(600 * 1024, 9);
  auto layer = descriptor::for_content(coras::media_type::oci_layer, bytes);
  auto img = coras::test::make_image("offload");
  const auto& root = img.manifest;
  auto referrer = coras::test::make_referrer(root.desc, "application/vnd.example", "offload");
  auto untagged = coras::test::make_image("untagged");  // its manifest: not in index.json

  // Runs `op` on a one-thread io_context while the pool's one thread is
  // held, and lets the pool go only after the caller's thread has run 100
  // other handlers: `op` must not have finished by then. File work done
  // inline (on the caller's thread) would have finished it long before.
  auto while_pool_held = [&](auto op) {
    asio::io_context ioc;
    std::promise<void> held;
    asio::post(pool, [hold = held.get_future()] { hold.wait(); });
    bool done = false;
    bool waited = false;
    std::exception_ptr failure;
    asio::co_spawn(ioc, op(), [&](std::exception_ptr e) {
      failure = e;
      done = true;
    });
    std::function<void(int)> probe = [&](int left) {
      if (left > 0) return asio::post(ioc, [&probe, left] { probe(left - 1); });
      waited = !done;
      held.set_value();
    };
    probe(100);
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    CHECK(done);
    CHECK(waited);
  };

  {
    oci_layout s(tmp / "layout", o);
    INFO("push");
    while_pool_held([&]() { return s.push(layer, coras::memory_source(bytes)); });
    INFO("push of an image, and tag");
    while_pool_held([&]() { return coras::test::push_image(s, img, "v1"); });
    INFO("push of a referrer (index.json written)");
    while_pool_held([&]() { return s.push(referrer.desc, coras::memory_source(referrer.bytes)); });
    INFO("push of an untagged manifest");
    while_pool_held([&]() -> asio::awaitable<void> {
      for (const auto& b : untagged.all()) co_await s.push(b.desc, coras::memory_source(b.bytes));
    });
    INFO("fetch and read");
    while_pool_held([&]() -> asio::awaitable<void> {
      auto got = co_await fetch_all(s, layer);
      CHECK(same(got, bytes));
    });
    INFO("tag");
    while_pool_held([&]() { return s.tag(root.desc, "v2"); });
  }
  // Reopened: exists hashes the file once per object; resolve by a digest
  // index.json does not list reads the manifest.
  oci_layout again(tmp / "layout", o);
  INFO("exists");
  while_pool_held([&]() -> asio::awaitable<void> {
    auto has = co_await again.exists(layer);
    CHECK(has);
  });
  INFO("resolve by digest");
  while_pool_held([&]() -> asio::awaitable<void> {
    auto d = co_await again.resolve(untagged.manifest.desc.digest.str());
    CHECK(d.digest == untagged.manifest.desc.digest);
    CHECK(d.media_type == coras::media_type::oci_manifest);
  });
  INFO("predecessors kept");
  auto preds = run([&]() { return again.predecessors(root.desc); });
  REQUIRE(preds);
  CHECK(preds->size() == 1);
  pool.join();
}

TEST_CASE("oci layout: what opening accepts and refuses", "[content][layout]") {
  temp_dir tmp;
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const boost::system::system_error& e) {
      return e.code();
    }
    return error_code();
  };
  oci_layout_options no_create;
  no_create.create = false;
  CHECK(code_of([&] { oci_layout s(tmp / "missing", no_create); }) == errc::not_found);
  CHECK_FALSE(fs::exists(tmp / "missing"));

  // An empty directory becomes a layout; a non-empty one without oci-layout does not.
  fs::create_directories(tmp / "empty");
  { oci_layout s(tmp / "empty"); }
  CHECK(fs::exists(tmp / "empty" / "oci-layout"));
  CHECK(fs::exists(tmp / "empty" / "index.json"));
  CHECK(fs::is_directory(tmp / "empty" / "blobs" / "sha256"));
  fs::create_directories(tmp / "stuff");
  coras::test::write_file(tmp / "stuff" / "notes.txt", "hello");
  CHECK(code_of([&] { oci_layout s(tmp / "stuff"); }) == errc::not_found);
  CHECK_FALSE(fs::exists(tmp / "stuff" / "oci-layout"));

  // The layout version must be 1.0.0.
  fs::create_directories(tmp / "v2");
  coras::test::write_file(tmp / "v2" / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  CHECK(code_of([&] { oci_layout s(tmp / "v2"); }) == errc::unsupported);
  coras::test::write_file(tmp / "v2" / "oci-layout", "not json");
  CHECK(code_of([&] { oci_layout s(tmp / "v2"); }) == errc::unsupported);

  // oci-layout without index.json: an empty index.
  coras::test::write_file(tmp / "v2" / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  {
    oci_layout s(tmp / "v2");
    CHECK(s.tags().empty());
  }

  // A broken or oversized index.json.
  coras::test::write_file(tmp / "v2" / "index.json", R"({"schemaVersion":2,"manifests":[{}]})");
  CHECK(code_of([&] { oci_layout s(tmp / "v2"); }) == errc::invalid_manifest);
  coras::test::write_file(tmp / "v2" / "index.json",
                          R"({"schemaVersion":2,"manifests":[)" + std::string(2000, ' ') + "]}");
  oci_layout_options tight;
  tight.max_index_bytes = 1000;
  CHECK(code_of([&] { oci_layout s(tmp / "v2", tight); }) == errc::size_limit_exceeded);
  try {
    oci_layout s(tmp / "v2", tight);
  } catch (const std::exception& e) {  // the error names the option that raises the limit
    CHECK(std::string(e.what()).find("oci_layout_options::max_index_bytes") != std::string::npos);
  }
  { oci_layout s(tmp / "v2"); }  // within the default limit

  // A file where the directory should be.
  coras::test::write_file(tmp / "file", "x");
  CHECK(code_of([&] { oci_layout s(tmp / "file"); }) == errc::not_found);
}

TEST_CASE("oci layout: resolving a digest index.json does not list", "[content][layout]") {
  temp_dir tmp;
  oci_layout s(tmp / "layout");
  // A manifest without mediaType (optional in OCI), and an index without one.
  auto img = coras::test::make_image("plain");
  auto m = coras::image_manifest::parse(img.manifest.bytes);
  m.media_type.clear();
  auto bare = m.to_json();
  auto bare_desc = descriptor::for_content(coras::media_type::oci_manifest, bare);
  coras::image_index ix;
  ix.manifests = {img.manifest.desc};
  auto ix_json = ix.to_json();
  auto ix_desc = descriptor::for_content(coras::media_type::oci_index, ix_json);
  auto [r1, r2, e_layer] =
      run([&]() -> asio::awaitable<std::tuple<descriptor, descriptor, error_code>> {
        for (const auto& b : img.all()) {
          auto src = coras::memory_source(b.bytes);
          co_await s.push(b.desc, src);
        }
        auto src = coras::memory_source(bare);
        co_await s.push(bare_desc, src);
        auto src2 = coras::memory_source(ix_json);
        co_await s.push(ix_desc, src2);
        auto a = co_await s.resolve(bare_desc.digest.str());
        auto b = co_await s.resolve(ix_desc.digest.str());
        auto e = co_await failure_of(s.resolve(img.config.desc.digest.str()));
        co_return std::make_tuple(a, b, e);
      });
  CHECK(r1.media_type == coras::media_type::oci_manifest);
  CHECK(r1.size == static_cast<std::int64_t>(bare.size()));
  CHECK(r2.media_type == coras::media_type::oci_index);
  CHECK(e_layer == errc::not_found);  // a config is not a manifest
  // Nothing was tagged and nothing has a subject: index.json lists nothing.
  auto index = coras::image_index::parse(coras::test::read_file(tmp / "layout" / "index.json"));
  CHECK(index.manifests.empty());
}

TEST_CASE("oci layout: a moved tag leaves its old referrer listed, unnamed entries are kept",
          "[content][layout]") {
  temp_dir tmp;
  auto dir = tmp / "layout";
  auto img = coras::test::make_image("base");
  auto ref = coras::test::make_referrer(img.manifest.desc, "application/x", "r");
  auto other = coras::test::make_image("other");
  {
    oci_layout s(dir);
    run([&]() -> asio::awaitable<void> {
      co_await coras::test::push_image(s, img, "base");
      co_await coras::test::push_image(s, other, "other");
      auto e = coras::empty_json_descriptor();
      auto esrc = coras::memory_source(std::string(coras::empty_json));
      co_await s.push(e, esrc);
      auto rsrc = coras::memory_source(ref.bytes);
      co_await s.push(ref.desc, rsrc);
      co_await s.tag(ref.desc, "sig");  // now named: listed once, with its name
    });
    auto index = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
    CHECK(index.manifests.size() == 3);
    run([&]() { return s.tag(other.manifest.desc, "sig"); });  // the name moves away
    index = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
    REQUIRE(index.manifests.size() == 4);  // base, other, sig→other, the referrer unnamed
    int referrer_entries = 0;
    for (const auto& d : index.manifests)
      if (d.digest == ref.desc.digest) {
        ++referrer_entries;
        CHECK_FALSE(d.annotations.contains(std::string(ref_name)));
        CHECK(d.artifact_type == "application/x");
      }
    CHECK(referrer_entries == 1);
  }
  // An unnamed entry written by another tool survives our rewrites.
  auto index = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
  auto foreign = img.manifest.desc;
  foreign.annotations["org.example.written-by"] = "someone else";
  index.manifests.push_back(foreign);
  coras::test::write_file(dir / "index.json", index.to_json());
  oci_layout s(dir);
  run([&]() { return s.tag(img.manifest.desc, "again"); });
  auto after = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
  // `img` is named ("base", "again"), so its unnamed foreign entry is folded
  // into them; it returns when no name covers it.
  bool foreign_listed = false;
  for (const auto& d : after.manifests)
    if (d.annotations.contains("org.example.written-by")) foreign_listed = true;
  CHECK_FALSE(foreign_listed);
  CHECK(after.manifests.size() == 5);
  auto preds = run([&]() { return s.predecessors(img.manifest.desc); });
  REQUIRE(preds);
  CHECK(preds->size() == 1);
}

namespace {

// One writer of the concurrency test: a blob streamed in pieces that hop
// through the executor, then a tag on a manifest for it.
asio::awaitable<void> write_one(store& s, int i) {
  auto layer = random_bytes(40 * 1024 + static_cast<std::size_t>(i) * 977, 100 + i);
  auto ld = descriptor::for_content(coras::media_type::oci_layer, layer);
  auto src = std::make_shared<test_source>(layer, 8 * 1024);
  src->yield_between_reads = true;
  co_await s.push(ld, src);

  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  m.layers = {ld};
  auto json = m.to_json();
  auto md = descriptor::for_content(coras::media_type::oci_manifest, json);
  auto empty = coras::empty_json_descriptor();
  auto empty_src = coras::memory_source(std::string(coras::empty_json));
  co_await s.push(empty, empty_src);  // all 50 push this one
  auto msrc = std::make_shared<test_source>(json, 100);
  msrc->yield_between_reads = true;
  co_await s.push(md, msrc);
  co_await s.tag(md, "t" + std::to_string(i));
  co_await s.tag(md, "latest");  // every writer moves one shared name
}

// Runs `n` writers on an io_context with two threads.
void write_concurrently(store& s, int n) {
  asio::io_context ioc(2);
  std::vector<std::future<void>> done;
  for (int i = 0; i < n; ++i)
    done.push_back(asio::co_spawn(ioc, write_one(s, i), asio::use_future));
  std::thread other([&] { ioc.run(); });
  ioc.run();
  other.join();
  for (auto& f : done) f.get();  // rethrows a writer's failure
}

}  // namespace

TEST_CASE("oci layout: 50 concurrent writers on two threads", "[content][layout][concurrency]") {
  temp_dir tmp;
  auto dir = tmp / "layout";
  {
    oci_layout s(dir);
    write_concurrently(s, 50);
    CHECK(s.tags().size() == 51);
  }
  auto index = coras::image_index::parse(coras::test::read_file(dir / "index.json"));
  CHECK(index.manifests.size() == 51);
  std::set<std::string> names;
  for (const auto& d : index.manifests) names.insert(d.annotations.at(std::string(ref_name)));
  CHECK(names.size() == 51);
  CHECK(names.contains("latest"));
  CHECK(names.contains("t0"));
  CHECK(names.contains("t49"));
  CHECK(coras::test::files_under(dir / "ingest").empty());
  CHECK(coras::test::files_under(dir / "blobs").size() == 101);  // 50 layers, 50 manifests, {}

  oci_layout again(dir);
  CHECK(again.tags().size() == 51);
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 50; i += 7) {
      auto md = co_await again.resolve("t" + std::to_string(i));
      auto json = co_await fetch_all(again, md);
      auto m = coras::image_manifest::parse(json);
      auto layer = co_await fetch_all(again, m.layers.at(0));
      CHECK(same(layer, random_bytes(40 * 1024 + static_cast<std::size_t>(i) * 977, 100 + i)));
    }
  });
}

TEST_CASE("memory store: 50 concurrent writers on two threads", "[content][memory][concurrency]") {
  memory_store s;
  write_concurrently(s, 50);
  CHECK(s.tags().size() == 51);
  CHECK(s.count() == 101);
}

// Resumable, verifying transfers against the embedded registry's faults:
// downloads that lose their connection, registries that ignore or garble
// Range, seeks, parallel ranged downloads into files, staged-file resume, and
// chunked uploads.
#include <coras_test/embedded.hpp>
#include <coras_test/files.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/content/titles.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using boost::system::error_code;
using coras::descriptor;
using coras::diagnostics;
using coras::digester;
using coras::errc;
using coras::http::client;
using coras::remote::repository;
using coras::server::registry_options;
using coras::test::random_bytes;
using coras::test::read_file;
using coras::test::read_streamed;
using coras::test::same;
using coras::test::temp_dir;
using coras::test::with_client;
using coras::test::write_file;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);
constexpr std::uint64_t MiB = 1 << 20;

coras::remote::repository_options plain() {
  coras::remote::repository_options o;
  o.plain_http = true;
  o.transfer.resume_backoff = std::chrono::milliseconds(1);
  return o;
}

// The GETs of one blob in the registry's log, oldest first.
std::vector<coras::server::request_record> blob_gets(const coras::server::registry& srv,
                                                     const descriptor& d) {
  std::vector<coras::server::request_record> out;
  for (auto& r : srv.recent_requests())
    if (r.method == "GET" && r.target.find("/blobs/" + d.digest.str()) != std::string::npos)
      out.push_back(r);
  return out;
}

std::uint64_t range_start(const coras::server::request_record& r) {
  auto h = r.header("Range");
  if (h.empty()) return 0;
  return std::stoull(h.substr(6, h.find('-') - 6));
}

// What a reader hands out until its first error (eof included), and that error.
struct read_outcome {
  std::string bytes;
  error_code end;
};
asio::awaitable<read_outcome> read_until_error(coras::remote::blob_reader& reader,
                                               std::size_t piece) {
  read_outcome out;
  std::vector<char> buf(piece);
  for (;;) {
    auto [ec, n] = co_await reader.async_read_some(asio::buffer(buf), as_tuple);
    if (ec) {
      out.end = ec;
      co_return out;
    }
    out.bytes.append(buf.data(), n);
  }
}

}  // namespace

TEST_CASE("transfer: a 64 MiB download cut 10 times resumes to the right digest",
          "[transfer][resume]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/big", plain());
    const auto content = random_bytes(64 * MiB, 71);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);

    // Ten cuts, each at a random point of what that response still has to send.
    std::mt19937_64 rng(5);
    std::vector<std::uint64_t> cuts;
    std::uint64_t at = 0;
    for (int i = 0; i < 10; ++i) {
      auto left = 64 * MiB - at;
      auto n = 1 + rng() % (left / 4);
      cuts.push_back(n);
      at += n;
    }
    srv.clear_request_log();
    srv.cut_blob_gets(cuts);
    auto reader = co_await repo.async_fetch(desc);
    auto got = co_await read_until_error(reader, 256 * 1024);
    CHECK(got.end == asio::error::eof);
    CHECK(same(got.bytes, content));
    CHECK(reader.resumes() == 10);

    // Each resumed GET starts where the client stood; what the registry sent
    // twice is what was in flight when the connection broke.
    auto gets = blob_gets(srv, desc);
    REQUIRE(gets.size() == 11);
    std::uint64_t resent = 0, sent_until = 0;
    for (std::size_t i = 0; i < gets.size(); ++i) {
      auto start = range_start(gets[i]);
      CHECK(start <= sent_until);
      resent += sent_until - start;
      if (i < cuts.size()) sent_until = start + cuts[i];
      if (i > 0) CHECK(gets[i].status == 206);
    }
    CHECK(static_cast<double>(resent) < 0.01 * static_cast<double>(content.size()));
  });
}

TEST_CASE("transfer: a registry that ignores Range resends everything, handed out once",
          "[transfer][resume]") {
  registry_options o;
  o.range_requests = false;
  with_client(o, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/norange", plain());
    const auto content = random_bytes(8 * MiB, 72);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    srv.clear_request_log();
    srv.cut_blob_gets(std::vector<std::uint64_t>{3 * MiB + 17, 5 * MiB});
    auto reader = co_await repo.async_fetch(desc);
    auto got = co_await read_streamed(reader);
    CHECK(same(got, content));
    CHECK(reader.resumes() == 2);
    auto gets = blob_gets(srv, desc);
    REQUIRE(gets.size() == 3);
    CHECK(gets[1].status == 200);  // asked with Range, answered whole
    CHECK_FALSE(gets[1].header("Range").empty());
    CHECK(gets[2].header("Range").empty());  // learnt: not asked again
  });
}

TEST_CASE("transfer: a 206 with the wrong Content-Range is an error, never data",
          "[transfer][resume]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/garbled", plain());
    const auto content = random_bytes(2 * MiB, 73);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    auto prefix = std::make_shared<digester>();
    prefix->update(std::as_bytes(std::span(content.data(), MiB)));
    coras::remote::fetch_options from;
    from.offset = MiB;
    from.prefix = prefix;

    coras::server::header_fault f;
    f.path_contains = "/blobs/";
    f.method = "GET";
    f.set = {{"Content-Range", "bytes 0-1048575/2097152"}};
    srv.inject_headers(f);
    diagnostics d;
    auto [ec, reader] = co_await repo.async_fetch_at(desc, from, d, as_tuple);
    CHECK(ec == errc::invalid_response);
    CHECK_THAT(d.message(), Catch::Contains("Content-Range"));

    // A cut answered by a wrong range mid-download: the read fails.
    srv.clear_faults();
    srv.cut_blob_gets(MiB / 2);
    auto r2 = co_await repo.async_fetch(desc);
    srv.inject_headers(f);  // the first response's header is out: this hits the resume
    auto got = co_await read_until_error(r2, 64 * 1024);
    CHECK(got.end == errc::invalid_response);
    CHECK(got.bytes.size() <= MiB / 2);
    CHECK(content.compare(0, got.bytes.size(), got.bytes) == 0);
  });
}

TEST_CASE("transfer: fetch_at continues from a caller's prefix and verifies the whole blob",
          "[transfer]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/offset", plain());
    const auto content = random_bytes(3 * MiB + 5, 74);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    const std::uint64_t at = 1234567;

    auto good = std::make_shared<digester>();
    good->update(std::as_bytes(std::span(content.data(), at)));
    coras::remote::fetch_options from;
    from.offset = at;
    from.prefix = good;
    srv.clear_request_log();
    auto reader = co_await repo.async_fetch_at(desc, from);
    auto rest = co_await read_streamed(reader);
    CHECK(same(rest, content.substr(at)));
    auto gets = blob_gets(srv, desc);
    REQUIRE(gets.size() == 1);
    CHECK(gets[0].header("Range") == "bytes=1234567-3145732");
    CHECK(gets[0].status == 206);

    // A prefix that is not the blob's: the last read fails.
    auto bad = std::make_shared<digester>();
    const std::string junk(at, 'x');
    bad->update(std::as_bytes(std::span(junk)));
    from.prefix = bad;
    auto r2 = co_await repo.async_fetch_at(desc, from);
    auto got = co_await read_until_error(r2, 1 << 20);
    CHECK(got.end == errc::digest_mismatch);

    // An offset without the hash of what precedes it is refused.
    coras::remote::fetch_options blind;
    blind.offset = at;
    diagnostics d;
    auto [ec, r3] = co_await repo.async_fetch_at(desc, blind, d, as_tuple);
    CHECK(ec == errc::invalid_argument);
  });
}

TEST_CASE("transfer: seek forward and back keeps the digest check", "[transfer][seek]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    auto opts = plain();
    repository repo(c, srv.host() + "/seek", opts);
    const auto content = random_bytes(40 * MiB, 75);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    auto reader = co_await repo.async_fetch(desc);
    std::vector<char> buf(MiB);
    co_await reader.async_read_some(asio::buffer(buf), use_awaitable);
    co_await reader.async_seek(35 * MiB, use_awaitable);  // forward past a checkpoint
    CHECK(reader.offset() == 35 * MiB);
    co_await reader.async_seek(33 * MiB + 3, use_awaitable);  // back: from the 32 MiB state
    auto rest = co_await read_streamed(reader);
    CHECK(same(rest, content.substr(33 * MiB + 3)));
    // After the verified end, back to the start and read it all again.
    co_await reader.async_seek(0, use_awaitable);
    auto all = co_await read_streamed(reader);
    CHECK(same(all, content));
    auto [ec] = co_await reader.async_seek(content.size() + 1, as_tuple);
    CHECK(ec == errc::invalid_argument);
  });
}

TEST_CASE("transfer: parallel ranged download into a file, with cuts and a work pool",
          "[transfer][parallel]") {
  asio::thread_pool pool(2);
  coras::test::with_registry({}, [&](auto ex, auto& srv) -> asio::awaitable<void> {
    coras::http::client_options co;
    co.work_executor = pool.get_executor();
    client c(ex, co);
    auto opts = plain();
    opts.transfer.parallel_threshold = 4 * MiB;
    opts.transfer.segment_size = 3 * MiB;
    opts.transfer.parallel_downloads = 4;
    repository repo(c, srv.host() + "/parallel", opts);
    const auto content = random_bytes(40 * MiB + 11, 76);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    temp_dir dir;
    auto file = dir.path() / "blob";

    srv.clear_request_log();
    srv.cut_blob_gets(std::vector<std::uint64_t>{MiB, 2 * MiB, 100});
    co_await repo.async_fetch_to_file(desc, file);
    CHECK(same(read_file(file), content));
    CHECK_FALSE(fs::exists(dir.path() / ".coras-staging"));
    auto gets = blob_gets(srv, desc);
    CHECK(gets.size() == 14 + 3);  // 14 ranges, 3 of them resumed
    std::size_t ranged = 0;
    for (auto& g : gets) ranged += g.status == 206;
    CHECK(ranged == gets.size());
    CHECK(c.stats().connections_opened >= 4);
    // A pool thread may still be returning from its last post to this
    // io_context, which with_registry destroys next (docs/remote.md).
    pool.join();
  });
}

TEST_CASE("transfer: a registry without ranges gets one stream instead", "[transfer][parallel]") {
  registry_options o;
  o.range_requests = false;
  with_client(o, [](client& c, auto& srv) -> asio::awaitable<void> {
    auto opts = plain();
    opts.transfer.parallel_threshold = MiB;
    opts.transfer.segment_size = MiB;
    repository repo(c, srv.host() + "/single", opts);
    const auto content = random_bytes(6 * MiB, 77);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    temp_dir dir;
    co_await repo.async_fetch_to_file(desc, dir.path() / "blob");
    CHECK(same(read_file(dir.path() / "blob"), content));
  });
}

TEST_CASE("transfer: fetch_to_file resumes only the staged file coras wrote",
          "[transfer][partial]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/partial", plain());
    const auto content = random_bytes(5 * MiB + 99, 78);
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    temp_dir dir;
    auto file = dir.path() / "blob";
    const auto staged = coras::content::staging_for(file, desc.digest);
    CHECK(staged.directory == dir.path() / ".coras-staging");
    CHECK(staged.partial.parent_path() == staged.directory);

    // FILE.partial is not coras's name (another file may be called that):
    // left alone, not read, not removed.
    const auto user_partial = dir.path() / "blob.partial";
    write_file(user_partial, std::string_view(content).substr(0, 2 * MiB));
    // A file at the staged name without coras's record (planted, or left by
    // something else) is started over, even though it is a true prefix.
    fs::create_directories(staged.directory);
    write_file(staged.partial, std::string_view(content).substr(0, 2 * MiB));
    srv.clear_request_log();
    co_await repo.async_fetch_to_file(desc, file);
    CHECK(same(read_file(file), content));
    auto gets = blob_gets(srv, desc);
    REQUIRE(gets.size() == 1);
    CHECK(range_start(gets[0]) == 0);
    CHECK(fs::file_size(user_partial) == 2 * MiB);
    // Done: nothing staged is left.
    CHECK_FALSE(fs::exists(staged.directory));

    // A failure mid-way keeps the staged file and its record for the next attempt.
    fs::remove(file);
    // Cut after 1 MiB, then every resume cut before its first byte.
    srv.cut_blob_gets(std::vector<std::uint64_t>{MiB, 0, 0, 0});
    auto opts = plain();
    opts.transfer.max_resumes = 1;
    repository fragile(c, srv.host() + "/partial", opts);
    auto [ec] = co_await fragile.async_fetch_to_file(desc, file, as_tuple);
    CHECK(ec);
    CHECK_FALSE(fs::exists(file));
    REQUIRE(fs::exists(staged.partial));
    CHECK(fs::file_size(staged.partial) == MiB);
    CHECK(read_file(staged.record) ==
          coras::content::staging_record(desc.digest, static_cast<std::uint64_t>(desc.size)));
    CHECK(coras::content::staged_bytes(file, desc.digest, static_cast<std::uint64_t>(desc.size)) ==
          MiB);
    srv.clear_faults();
    srv.clear_request_log();
    co_await repo.async_fetch_to_file(desc, file);
    CHECK(same(read_file(file), content));
    gets = blob_gets(srv, desc);
    REQUIRE(gets.size() == 1);
    CHECK(range_start(gets[0]) == MiB);  // continued from coras's own file
    CHECK_FALSE(fs::exists(staged.directory));

    // A staged file of coras's whose bytes went wrong: digest mismatch, and
    // it is gone with its record.
    fs::remove(file);
    fs::create_directories(staged.directory);
    write_file(staged.partial, std::string(MiB, 'z'));
    write_file(staged.record,
               coras::content::staging_record(desc.digest, static_cast<std::uint64_t>(desc.size)));
    diagnostics d;
    auto [ec2] = co_await repo.async_fetch_to_file(desc, file, d, as_tuple);
    CHECK(ec2 == errc::digest_mismatch);
    CHECK_FALSE(fs::exists(file));
    CHECK_FALSE(fs::exists(staged.partial));
    CHECK_FALSE(fs::exists(staged.record));

    // A record for another size (or blob) is not this download's.
    fs::create_directories(staged.directory);
    write_file(staged.partial, std::string(MiB, 'z'));
    write_file(staged.record, coras::content::staging_record(desc.digest, 1));
    CHECK(coras::content::staged_bytes(file, desc.digest, static_cast<std::uint64_t>(desc.size)) ==
          0);
    co_await repo.async_fetch_to_file(desc, file);
    CHECK(same(read_file(file), content));
  });
}

TEST_CASE("transfer: chunked upload in PATCHes", "[transfer][upload]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    auto opts = plain();
    opts.transfer.chunked_threshold = 0;
    opts.transfer.chunk_size = MiB;
    repository repo(c, srv.host() + "/chunked", opts);
    const auto content = random_bytes(4 * MiB + 7, 79);
    srv.clear_request_log();
    auto desc = co_await repo.async_push_bytes("application/octet-stream", content);
    int patches = 0;
    std::vector<std::string> ranges;
    for (auto& r : srv.recent_requests())
      if (r.method == "PATCH") {
        ++patches;
        ranges.push_back(r.header("Content-Range"));
      }
    CHECK(patches == 5);
    REQUIRE(ranges.size() == 5);
    CHECK(ranges[0] == "0-1048575");
    CHECK(ranges[4] == "4194304-4194310");
    auto back = co_await repo.async_fetch_bytes(desc);
    CHECK(same(back, content));
  });
}

namespace {

// Counts requests by method in the registry's log.
std::size_t count(const coras::server::registry& srv, std::string_view method) {
  std::size_t n = 0;
  for (auto& r : srv.recent_requests()) n += r.method == method;
  return n;
}

// A seekable in-memory source that runs `hook` once, after `after` bytes.
class hooked_body final : public coras::byte_source {
 public:
  hooked_body(std::string bytes, std::uint64_t after, std::function<void()> hook)
      : inner_(coras::memory_source(std::move(bytes))), after_(after), hook_(std::move(hook)) {}
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  asio::awaitable<std::size_t> read(asio::mutable_buffer b) override {
    auto n = co_await inner_->read(b);
    pos_ += n;
    if (hook_ && pos_ >= after_) std::exchange(hook_, nullptr)();
    co_return n;
  }
  bool rewind() override { return seek(0); }
  bool seek(std::uint64_t offset) override {
    if (!inner_->seek(offset)) return false;
    pos_ = offset;
    return true;
  }

 private:
  std::shared_ptr<coras::byte_source> inner_;
  std::uint64_t after_, pos_ = 0;
  std::function<void()> hook_;
};

}  // namespace

TEST_CASE("transfer: uploads interrupted twice complete, chunked and monolithic",
          "[transfer][upload]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    // Chunked: two PATCHes cut mid-body; each resumes from the registry's offset.
    auto opts = plain();
    opts.transfer.chunked_threshold = 0;
    opts.transfer.chunk_size = MiB;
    repository chunked(c, srv.host() + "/cut-chunked", opts);
    const auto content = random_bytes(4 * MiB + 3, 80);
    auto desc = descriptor::for_content("application/octet-stream", content);
    srv.clear_request_log();
    srv.cut_uploads(std::vector<std::uint64_t>{300 * 1024, 700 * 1024});
    co_await chunked.async_push(desc, coras::memory_source(content));
    CHECK(count(srv, "POST") == 1);
    CHECK(count(srv, "GET") == 2);  // two status queries
    std::uint64_t patched = 0, cut = 0;
    for (auto& r : srv.recent_requests()) {
      if (r.method == "PATCH" && r.status == 202) ++patched;
      if (r.method == "PATCH" && r.status == 0) ++cut;
    }
    CHECK(cut == 2);
    // 300 KiB + 700 KiB arrived in the cut ones; the rest in 1 MiB chunks from there.
    CHECK(patched == 4);
    CHECK(same(co_await chunked.async_fetch_bytes(desc), content));

    // Monolithic: the PUT is cut twice; the rest goes with the next PUT.
    repository mono(c, srv.host() + "/cut-mono", plain());
    const auto other = random_bytes(5 * MiB, 81);
    auto d2 = descriptor::for_content("application/octet-stream", other);
    srv.clear_request_log();
    srv.cut_uploads(std::vector<std::uint64_t>{MiB, 2 * MiB});
    co_await mono.async_push(d2, coras::memory_source(other));
    CHECK(count(srv, "POST") == 1);
    CHECK(count(srv, "PUT") == 3);
    CHECK(count(srv, "PATCH") == 0);
    CHECK(same(co_await mono.async_fetch_bytes(d2), other));
  });
}

TEST_CASE("transfer: an upload whose session the registry lost starts over", "[transfer][upload]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    auto opts = plain();
    opts.transfer.chunked_threshold = 0;
    opts.transfer.chunk_size = MiB;
    repository repo(c, srv.host() + "/lost", opts);
    const auto content = random_bytes(3 * MiB, 82);
    auto desc = descriptor::for_content("application/octet-stream", content);
    srv.clear_request_log();
    auto body =
        std::make_shared<hooked_body>(content, MiB / 2, [&srv] { srv.drop_upload_sessions(); });
    co_await repo.async_push(desc, body);
    CHECK(count(srv, "POST") == 2);
    CHECK(same(co_await repo.async_fetch_bytes(desc), content));

    // Content that cannot be read again: a clear error, no retry loop.
    auto once =
        std::make_shared<hooked_body>(content, MiB / 2, [&srv] { srv.drop_upload_sessions(); });
    struct no_seek final : coras::byte_source {
      std::shared_ptr<coras::byte_source> inner;
      std::optional<std::uint64_t> size() const override { return inner->size(); }
      asio::awaitable<std::size_t> read(asio::mutable_buffer b) override {
        co_return co_await inner->read(b);
      }
    };
    auto stream = std::make_shared<no_seek>();
    stream->inner = once;
    repository other(c, srv.host() + "/lost2", opts);
    diagnostics d;
    auto [ec] = co_await other.async_push(desc, stream, d, as_tuple);
    CHECK(ec == errc::unsupported);
    CHECK_THAT(d.message(), Catch::Contains("cannot be read again"));
  });
}

// A hostile manifest's titles against a pull (issue 17, item 3): what a
// caller writing its own pull does with the library (titled_layer_targets,
// then async_fetch_to_file per layer) must never let one layer's staging
// file be another layer's file, nor continue a partial file coras did not
// write.
#include <coras_test/embedded.hpp>
#include <coras_test/files.hpp>
#include <coras_test/random_bytes.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/content/titles.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using coras::descriptor;
using coras::errc;
using coras::http::client;
using coras::remote::repository;
using coras::test::plain_options;
using coras::test::random_bytes;
using coras::test::read_file;
using coras::test::temp_dir;
using coras::test::with_client;
using coras::test::write_file;
namespace content = coras::content;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);
constexpr std::size_t KiB = 1024;

descriptor titled(descriptor d, std::string title) {
  d.annotations[std::string(content::title_annotation)] = std::move(title);
  return d;
}

// A pull as the library's user writes it: plan every file first, then fetch
// each layer into its file, one after the other in the manifest's order.
asio::awaitable<void> pull(repository& repo, const std::vector<descriptor>& layers,
                           const fs::path& dir) {
  const auto targets = content::titled_layer_targets(fs::canonical(dir), layers);
  for (const auto& t : targets) {
    fs::create_directories(t.path.parent_path());
    co_await repo.async_fetch_to_file(layers[t.index], t.path);
  }
}

// Where the GETs of a blob started, oldest first (0 without a Range).
std::vector<std::uint64_t> get_starts(const coras::server::registry& srv, const descriptor& d) {
  std::vector<std::uint64_t> out;
  for (auto& r : srv.recent_requests()) {
    if (r.method != "GET" || r.target.find("/blobs/" + d.digest.str()) == std::string::npos)
      continue;
    const auto h = r.header("Range");
    out.push_back(h.empty() ? 0 : std::stoull(h.substr(6, h.find('-') - 6)));
  }
  return out;
}

std::vector<fs::path> listing(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out.push_back(fs::relative(e.path(), dir));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("pull titles: layers titled x and x.partial both arrive whole",
          "[remote][security][titles]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/titles", plain_options());
    const auto a_bytes = random_bytes(300 * KiB, 31);
    // x.partial's bytes are a prefix of x's: a download of x that took the
    // file x.partial for its own partial file would continue it and succeed,
    // moving x.partial away.
    const auto b_bytes = a_bytes.substr(0, 100 * KiB);
    auto a = co_await repo.async_push_bytes("application/octet-stream", a_bytes);
    auto b = co_await repo.async_push_bytes("application/octet-stream", b_bytes);
    a = titled(a, "x");
    b = titled(b, "x.partial");
    const std::vector<std::vector<descriptor>> orders{{b, a}, {a, b}};
    for (const auto& order : orders) {
      temp_dir dir;
      co_await pull(repo, order, dir.path());
      CHECK(read_file(dir.path() / "x") == a_bytes);
      REQUIRE(fs::exists(dir.path() / "x.partial"));
      CHECK(read_file(dir.path() / "x.partial") == b_bytes);
      CHECK(listing(dir.path()) == std::vector<fs::path>{"x", "x.partial"});
    }
  });
}

TEST_CASE("pull titles: a planted x.partial is never a resume base", "[remote][security][titles]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/titles", plain_options());
    const auto bytes = random_bytes(300 * KiB, 32);
    auto x = co_await repo.async_push_bytes("application/octet-stream", bytes);
    x = titled(x, "x");

    const std::vector<descriptor> layers{x};
    {  // wrong bytes: the pull succeeds and leaves the file alone
      temp_dir dir;
      write_file(dir.path() / "x.partial", std::string(50 * KiB, 'z'));
      co_await pull(repo, layers, dir.path());
      CHECK(read_file(dir.path() / "x") == bytes);
      CHECK(read_file(dir.path() / "x.partial") == std::string(50 * KiB, 'z'));
    }
    {  // a true prefix is fetched again, not trusted
      temp_dir dir;
      write_file(dir.path() / "x.partial", bytes.substr(0, 100 * KiB));
      srv.clear_request_log();
      co_await pull(repo, layers, dir.path());
      CHECK(read_file(dir.path() / "x") == bytes);
      CHECK(get_starts(srv, x) == std::vector<std::uint64_t>{0});
    }
    {  // at the staged name, without coras's record: fetched again
      temp_dir dir;
      const auto staged = content::staging_for(fs::canonical(dir.path()) / "x", x.digest);
      fs::create_directories(staged.directory);
      write_file(staged.partial, bytes.substr(0, 100 * KiB));
      srv.clear_request_log();
      co_await pull(repo, layers, dir.path());
      CHECK(read_file(dir.path() / "x") == bytes);
      CHECK(get_starts(srv, x) == std::vector<std::uint64_t>{0});
      CHECK(listing(dir.path()) == std::vector<fs::path>{"x"});
    }
  });
}

TEST_CASE("pull titles: an interrupted pull continues from coras's own staged file",
          "[remote][security][titles]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/titles", plain_options());
    const auto bytes = random_bytes(3 * 1024 * KiB, 33);
    auto x = co_await repo.async_push_bytes("application/octet-stream", bytes);
    x = titled(x, "x");
    temp_dir dir;
    const auto base = fs::canonical(dir.path());

    auto opts = plain_options();
    opts.transfer.max_resumes = 1;
    repository fragile(c, srv.host() + "/titles", opts);
    // Cut after 1 MiB (one full write), then the resume before its first byte.
    srv.cut_blob_gets(std::vector<std::uint64_t>{1024 * KiB, 0, 0});
    const std::vector<descriptor> layers{x};
    const auto target = content::titled_layer_targets(base, layers).at(0).path;
    auto [ec] = co_await fragile.async_fetch_to_file(x, target, as_tuple);
    REQUIRE(ec);
    CHECK_FALSE(fs::exists(base / "x"));
    CHECK(content::staged_bytes(base / "x", x.digest, static_cast<std::uint64_t>(x.size)) ==
          1024 * KiB);

    srv.clear_faults();
    srv.clear_request_log();
    co_await pull(repo, layers, dir.path());
    CHECK(read_file(base / "x") == bytes);
    CHECK(get_starts(srv, x) == std::vector<std::uint64_t>{1024 * KiB});
    CHECK(listing(base) == std::vector<fs::path>{"x"});
  });
}

TEST_CASE("pull titles: titles that are one file somewhere are refused before a byte",
          "[remote][security][titles]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/titles", plain_options());
    auto one = co_await repo.async_push_bytes("application/octet-stream", "one");
    auto two = co_await repo.async_push_bytes("application/octet-stream", "two");
    struct row {
      std::string name, first, second, message;
    };
    const std::vector<row> rows = {
        {"case", "README.md", "readme.md",
         "titles \"README.md\" and \"readme.md\" differ only in case; refusing to pull"},
        {"a file and a directory in another case", "Docs", "docs/a.txt",
         "title \"Docs\" names a file that title \"docs/a.txt\" needs as a directory; refusing "
         "to pull"},
        {"the staging directory", "x", ".coras-staging/x",
         "title \".coras-staging/x\" uses the name of coras's staging directory (.coras-staging)"},
    };
    for (const auto& r : rows) {
      temp_dir dir;
      srv.clear_request_log();
      std::string message;
      const std::vector<descriptor> layers{titled(one, r.first), titled(two, r.second)};
      try {
        co_await pull(repo, layers, dir.path());
      } catch (const coras::error& e) {
        CHECK(e.code() == errc::invalid_argument);
        message = e.what();
      }
      INFO(r.name);
      CHECK(message.find(r.message) != std::string::npos);
      CHECK(fs::is_empty(dir.path()));
      CHECK(get_starts(srv, one).empty());
    }
  });
}

// A hostile registry's numbers (issue 17, item 4): sizes from the network are
// checked before they size a buffer, a file, a range plan or a progress
// total. A descriptor claiming 2^60 bytes used to size the segment bitmap of
// a parallel download (8 GiB) before a byte arrived.
#include <coras_test/embedded.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using coras::descriptor;
using coras::diagnostics;
using coras::errc;
using coras::http::client;
using coras::remote::repository;
using coras::test::plain_options;
using coras::test::temp_dir;
using coras::test::with_client;

namespace {

constexpr auto as_tuple = asio::as_tuple(use_awaitable);

std::size_t blob_requests(const coras::server::registry& srv) {
  std::size_t n = 0;
  for (const auto& r : srv.recent_requests()) n += r.target.find("/blobs/") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("hostile: a descriptor claiming 2^60 bytes or a negative size is refused up front",
          "[remote][security][sizes]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    repository repo(c, srv.host() + "/sizes", plain_options());
    auto real = co_await repo.async_push_bytes("application/octet-stream", "twelve bytes");
    temp_dir dir;
    srv.clear_request_log();

    auto huge = real;
    huge.size = std::int64_t(1) << 60;
    {
      diagnostics d;
      auto [ec] = co_await repo.async_fetch_to_file(huge, dir / "huge", d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      INFO(d.message());
      CHECK(d.message().find("max_blob_bytes") != std::string::npos);
      CHECK(d.message().find("1152921504606846976") != std::string::npos);
    }
    {
      diagnostics d;
      auto [ec, bytes] = co_await repo.async_fetch_bytes(huge, d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      CHECK(d.message().find("max_blob_bytes") != std::string::npos);
    }
    auto negative = real;
    negative.size = -1;
    {
      diagnostics d;
      auto [ec] = co_await repo.async_fetch_to_file(negative, dir / "negative", d, as_tuple);
      CHECK(ec == errc::invalid_response);
      CHECK(d.message().find("negative") != std::string::npos);
    }
    {
      diagnostics d;
      auto [ec, reader] = co_await repo.async_fetch(negative, d, as_tuple);
      CHECK(ec == errc::invalid_response);
    }
    // Nothing was created, nothing was asked of the registry.
    CHECK(fs::is_empty(dir.path()));
    CHECK(blob_requests(srv) == 0);
  });
}

TEST_CASE(
    "hostile: max_blob_bytes is an option, and a HEAD's huge Content-Length is refused at resolve",
    "[remote][security][sizes]") {
  with_client({}, [](client& c, auto& srv) -> asio::awaitable<void> {
    auto small = plain_options();
    small.max_blob_bytes = 10;
    repository repo(c, srv.host() + "/limits", small);
    repository unlimited(c, srv.host() + "/limits", plain_options());
    auto desc = co_await unlimited.async_push_bytes("application/octet-stream", "eleven byte");
    temp_dir dir;
    {
      diagnostics d;
      auto [ec, bytes] = co_await repo.async_fetch_bytes(desc, d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      INFO(d.message());
      CHECK(d.message().find("above the limit of 10 bytes") != std::string::npos);
      CHECK(d.message().find("max_blob_bytes") != std::string::npos);
    }
    {
      diagnostics d;
      auto [ec] = co_await repo.async_fetch_to_file(desc, dir / "f", d, as_tuple);
      CHECK(ec == errc::size_limit_exceeded);
      CHECK_FALSE(fs::exists(dir / ".coras-staging"));
    }
    // 0: no limit.
    auto none = plain_options();
    none.max_blob_bytes = 0;
    auto got = co_await repository(c, srv.host() + "/limits", none).async_fetch_bytes(desc);
    CHECK(got == "eleven byte");

    // A HEAD that claims 2^60 bytes: resolving the blob refuses the size
    // before a descriptor carrying it exists.
    coras::server::header_fault lying;
    lying.method = "HEAD";
    lying.path_contains = "/blobs/";
    lying.set = {{"Content-Length", "1152921504606846976"}};
    srv.inject_headers(lying);
    diagnostics rd;
    auto [rec, resolved] = co_await unlimited.async_resolve_blob(
        srv.host() + "/limits@" + desc.digest.str(), rd, as_tuple);
    CHECK(rec == errc::size_limit_exceeded);
    CHECK(rd.message().find("max_blob_bytes") != std::string::npos);

    // A descriptor that does claim it (from elsewhere) is refused when fetched.
    auto huge = desc;
    huge.size = std::int64_t(1) << 60;
    diagnostics d;
    auto [ec] = co_await unlimited.async_fetch_to_file(huge, dir / "g", d, as_tuple);
    CHECK(ec == errc::size_limit_exceeded);
    CHECK_FALSE(fs::exists(dir / ".coras-staging"));
  });
}

// Uploads fail at every point in turn (Beast's fail_count loop): a byte
// source that throws at its n-th read, for n = 1, 2, … until a push gets
// through, in one PUT and in chunks. After each failure the blob must not be
// in the repository (nothing unverified becomes visible), and pushing it
// again with a good source must succeed.
#include <coras_test/embedded.hpp>
#include <coras_test/random_bytes.hpp>

#include <coras/core/byte_source.hpp>
#include <coras/core/error.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace asio = boost::asio;
using coras::descriptor;
using coras::http::client;
using coras::remote::repository;

namespace {

// `inner`, throwing at its `fail_at`-th read (1-based).
class failing_source final : public coras::byte_source {
 public:
  failing_source(std::shared_ptr<coras::byte_source> inner, int fail_at)
      : inner_(std::move(inner)), fail_at_(fail_at) {}
  int reads() const noexcept { return reads_; }
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  asio::awaitable<std::size_t> read(asio::mutable_buffer b) override {
    if (++reads_ == fail_at_)
      throw coras::error(coras::errc::invalid_response,
                         "injected failure at read " + std::to_string(reads_));
    co_return co_await inner_->read(b);
  }
  bool rewind() override { return inner_->rewind(); }
  bool seek(std::uint64_t offset) override { return inner_->seek(offset); }

 private:
  std::shared_ptr<coras::byte_source> inner_;
  int fail_at_;
  int reads_ = 0;
};

}  // namespace

TEST_CASE("upload: a source failing at any read leaves no blob, and a re-push succeeds",
          "[remote][upload][failure-points]") {
  for (bool chunked : {false, true}) {
    DYNAMIC_SECTION((chunked ? "chunked (POST, PATCH…, PUT)" : "monolithic (POST, PUT)")) {
      coras::test::with_client(
          {}, [chunked](client& c, coras::server::registry& srv) -> asio::awaitable<void> {
            coras::remote::repository_options o;
            o.plain_http = true;
            if (chunked) {
              o.transfer.chunked_threshold = 0;
              o.transfer.chunk_size = 64 * 1024;
            }
            const auto bytes = coras::test::random_bytes(300 * 1024);
            const std::string type = "application/octet-stream";
            const auto desc = descriptor::for_content(type, bytes);
            int failures = 0;
            for (int n = 1;; ++n) {
              INFO("failing at read " << n);
              // A fresh repository name per round: nothing from an earlier round counts.
              repository repo(c, srv.host() + "/fail/r" + std::to_string(n), o);
              auto source =
                  std::make_shared<failing_source>(coras::memory_source(std::string(bytes)), n);
              auto [ec] =
                  co_await repo.async_push(desc, source, asio::as_tuple(asio::use_awaitable));
              if (!ec) {
                CHECK(source->reads() < n);  // only a push that never reached read n succeeds
                const bool there = co_await repo.async_exists(desc);
                CHECK(there);
                break;
              }
              ++failures;
              const bool there = co_await repo.async_exists(desc);
              CHECK_FALSE(there);
              co_await repo.async_push(desc, coras::memory_source(std::string(bytes)));
              auto back = co_await repo.async_fetch_bytes(desc);
              CHECK(back == bytes);
              REQUIRE(n < 500);
            }
            CHECK(failures >= (chunked ? 5 : 2));
          });
    }
  }
}

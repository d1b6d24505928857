// Compile-time check that every public operation of the remote layer accepts
// each kind of completion token (deferred, use_awaitable, as_tuple, a
// callback, use_future), with and without a diagnostics object. Nothing here
// runs; the build failing is the test failing.
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

namespace asio = boost::asio;

namespace {

template <class Op>
asio::awaitable<void> every_token(Op op) {
  co_await op(coras::default_completion_token_t{});  // what no token gives: throws coras::error
  co_await op(coras::with_diagnostics(asio::use_awaitable));
  (void)op(coras::with_diagnostics(asio::use_future));
  co_await op(asio::deferred);
  co_await op(asio::use_awaitable);
  co_await op(asio::as_tuple(asio::use_awaitable));
  op([](auto&&...) {});
  (void)op(asio::use_future);
}

[[maybe_unused]] asio::awaitable<void> every_operation(coras::remote::registry reg,
                                                       coras::remote::repository repo,
                                                       coras::descriptor desc,
                                                       coras::remote::blob_reader& reader) {
  coras::diagnostics d;
  auto body = coras::memory_source("x");
  auto page = [](std::span<const std::string>) { return true; };
  std::filesystem::path file = "f";
  char buf[8];
  const auto bytes = std::as_bytes(std::span(buf));

  co_await every_token([&](auto t) { return reg.async_ping(t); });
  co_await every_token([&](auto t) { return reg.async_ping(d, t); });
  co_await every_token([&](auto t) { return reg.async_repositories("", page, t); });
  co_await every_token([&](auto t) { return reg.async_repositories("", page, d, t); });
  co_await every_token([&](auto t) { return reg.async_list_repositories(t); });
  co_await every_token([&](auto t) { return reg.async_list_repositories(d, t); });

  co_await every_token([&](auto t) { return repo.async_fetch(desc, t); });
  co_await every_token([&](auto t) { return repo.async_fetch(desc, d, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_head(desc, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_head(desc, d, t); });
  co_await every_token([&](auto t) { return repo.async_push(desc, body, t); });
  co_await every_token([&](auto t) { return repo.async_push(desc, body, d, t); });
  co_await every_token([&](auto t) { return repo.async_exists(desc, t); });
  co_await every_token([&](auto t) { return repo.async_exists(desc, d, t); });
  co_await every_token([&](auto t) { return repo.async_delete(desc, t); });
  co_await every_token([&](auto t) { return repo.async_delete(desc, d, t); });
  co_await every_token([&](auto t) { return repo.async_mount(desc, "a/b", nullptr, t); });
  co_await every_token([&](auto t) { return repo.async_mount(desc, "a/b", nullptr, d, t); });
  co_await every_token([&](auto t) { return repo.async_resolve("v1", t); });
  co_await every_token([&](auto t) { return repo.async_resolve("v1", d, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_reference("v1", t); });
  co_await every_token([&](auto t) { return repo.async_fetch_reference("v1", d, t); });
  co_await every_token([&](auto t) { return repo.async_push_reference(desc, body, "v1", t); });
  co_await every_token([&](auto t) { return repo.async_push_reference(desc, body, "v1", d, t); });
  co_await every_token([&](auto t) { return repo.async_tag(desc, "v2", t); });
  co_await every_token([&](auto t) { return repo.async_tag(desc, "v2", d, t); });
  co_await every_token([&](auto t) { return repo.async_resolve_blob("sha256:x", t); });
  co_await every_token([&](auto t) { return repo.async_resolve_blob("sha256:x", d, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_blob_reference("sha256:x", t); });
  co_await every_token([&](auto t) { return repo.async_fetch_blob_reference("sha256:x", d, t); });
  co_await every_token([&](auto t) { return repo.async_tags("", page, t); });
  co_await every_token([&](auto t) { return repo.async_tags("", page, d, t); });
  co_await every_token([&](auto t) { return repo.async_list_tags(t); });
  co_await every_token([&](auto t) { return repo.async_list_tags(d, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_bytes(desc, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_bytes(desc, d, t); });
  co_await every_token([&](auto t) { return repo.async_push_bytes("a/b", "x", t); });
  co_await every_token([&](auto t) { return repo.async_push_bytes("a/b", "x", d, t); });
  co_await every_token([&](auto t) { return repo.async_push_bytes("a/b", bytes, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_to_file(desc, file, t); });
  co_await every_token([&](auto t) { return repo.async_fetch_to_file(desc, file, d, t); });
  co_await every_token([&](auto t) { return repo.async_push_file("a/b", file, t); });
  co_await every_token([&](auto t) { return repo.async_push_file("a/b", file, d, t); });

  auto on_referrers = [](std::span<const coras::descriptor>) { return true; };
  co_await every_token([&](auto t) { return repo.async_referrers(desc, "", on_referrers, t); });
  co_await every_token([&](auto t) { return repo.async_referrers(desc, "", on_referrers, d, t); });
  co_await every_token([&](auto t) { return repo.async_list_referrers(desc, "", t); });
  co_await every_token([&](auto t) { return repo.async_list_referrers(desc, "", d, t); });

  co_await every_token([&](auto t) { return reader.async_read_some(asio::buffer(buf), t); });
  co_await every_token([&](auto t) { return reader.async_read_all(10, t); });
}

}  // namespace

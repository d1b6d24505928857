// Content helpers shared by the tests that talk to a registry: streamed
// reads, concurrent coroutines, a minimal tagged image, and referrer
// artifacts.
#pragma once

#include <coras_test/random_bytes.hpp>

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/remote/blob_reader.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <string>
#include <vector>

namespace coras::test {

/// Reads a blob reader to its verified end in small pieces (the streaming path).
inline boost::asio::awaitable<std::string> read_streamed(remote::blob_reader& r) {
  namespace asio = boost::asio;
  std::string out;
  char buf[1000];
  diagnostics d;
  for (;;) {
    auto [ec, n] =
        co_await r.async_read_some(asio::buffer(buf), d, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) break;
    if (ec) throw boost::system::system_error(ec, d.message());
    out.append(buf, n);
  }
  co_return out;
}

/// Runs every coroutine of `ops` concurrently; rethrows the first failure.
inline boost::asio::awaitable<void> run_all(std::vector<boost::asio::awaitable<void>> ops) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, std::move(ops.front()), asio::deferred));
  std::vector<op_type> started;
  for (auto& op : ops) started.push_back(asio::co_spawn(ex, std::move(op), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(started))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Pushes the smallest image (empty config, one empty layer) to `repo`,
/// tagged `tag`; returns its manifest's descriptor.
inline boost::asio::awaitable<descriptor> push_empty_image(remote::repository& repo,
                                                           std::string tag) {
  co_await repo.async_push_bytes(std::string(media_type::oci_empty), std::string(empty_json));
  image_manifest m;
  m.media_type = std::string(media_type::oci_manifest);
  m.config = empty_json_descriptor();
  m.layers = {empty_json_descriptor()};
  auto json = m.to_json();
  auto desc = descriptor::for_content(media_type::oci_manifest, json);
  co_await repo.async_push_reference(desc, memory_source(json), std::move(tag));
  co_return desc;
}

/// An OCI 1.1 artifact manifest (empty config, one empty layer) of
/// `artifact_type` whose subject is `subject`, as JSON; `note` makes it unique.
inline std::string artifact_json(const descriptor& subject, std::string artifact_type,
                                 std::string note) {
  image_manifest m;
  m.media_type = std::string(media_type::oci_manifest);
  m.artifact_type = std::move(artifact_type);
  m.config = empty_json_descriptor();
  m.layers = {empty_json_descriptor()};
  m.subject = subject;
  m.annotations["note"] = std::move(note);
  return m.to_json();
}

}  // namespace coras::test

// The code blocks of docs/copy.md, compiled (see readme.cpp).
// [snippet copy]
#include <coras/coras.hpp>

// [end]
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace snippets {

boost::asio::awaitable<void> copy_tour(coras::http::client& http) {
  // [snippet copy]
  coras::remote::repository src(http, "registry.example/app");
  auto from = std::make_shared<coras::remote::repository_store>(src);
  auto to = std::make_shared<coras::content::oci_layout>("/tmp/app-layout");

  coras::copy::copy_options o;
  o.concurrency = 8;
  o.on_event = [](const coras::copy::copy_event& e) { /* progress */ };
  auto r = co_await coras::copy::copy(from, "v1", to, "v1", o);
  // r.root, r.copied, r.skipped, r.mounted, r.bytes
  // [end]
  (void)r;
}

boost::asio::awaitable<void> copy_graph_tour(coras::remote::repository src,
                                             std::shared_ptr<coras::content::store> to) {
  // [snippet copy-graph]
  auto root = co_await src.async_resolve("v1");  // e.g. to check it first
  auto from = std::make_shared<coras::remote::repository_store>(src);
  auto r = co_await coras::copy::copy_graph(from, root, to);  // no second lookup
  co_await to->tag(r.root, "v1");                             // when wanted
  // [end]
}

}  // namespace snippets

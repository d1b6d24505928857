// The code blocks of docs/remote.md, compiled (see readme.cpp).
#include <coras/coras.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

namespace snippets {

namespace asio = boost::asio;

boost::asio::awaitable<void> quick_start(std::string bytes) {
  // [snippet quick-start]
  boost::asio::io_context ioc;
  coras::http::client http(ioc.get_executor());
  coras::remote::repository_options opts;
  opts.plain_http = true;                       // e.g. a local registry
  coras::remote::repository repo(http, "localhost:5000/app", opts);

  auto layer = co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar", bytes);
  auto desc = co_await repo.async_resolve("v1");            // HEAD with the Accept list
  auto json = co_await repo.async_fetch_bytes(desc);        // verified before it is returned
  co_await repo.async_fetch_to_file(layer, "layer.tar");    // appears only once verified
  // [end]
  (void)json;
}

boost::asio::awaitable<void> words(coras::remote::repository repo) {
  // [snippet diagnostics]
  coras::diagnostics diag;
  auto [ec, desc] = co_await repo.async_resolve("v1", diag, asio::as_tuple(asio::use_awaitable));
  if (ec == coras::errc::not_found) { /* diag.message(): the whole story, e.g.
    HEAD "https://r/v2/app/manifests/v1": response status code 404: manifest unknown */ }
  if (auto* r = diag.registry()) { /* r->status, r->errors[i].code == "MANIFEST_UNKNOWN" … */ }
  // [end]
  (void)desc;
}

void consume(const char*, std::size_t) {}

boost::asio::awaitable<void> stream(coras::remote::blob_reader reader) {
  std::vector<char> buf(64 * 1024);
  // [snippet reader-loop]
  coras::diagnostics diag;
  for (;;) {
    auto [ec, n] = co_await reader.async_read_some(asio::buffer(buf), diag,
                                                   asio::as_tuple(asio::use_awaitable));
    consume(buf.data(), n);
    if (ec == asio::error::eof) break;  // every byte verified
    if (ec) throw coras::error(ec, diag.message());
  }
  // [end]
}

boost::asio::awaitable<void> resume(coras::remote::repository repo, coras::descriptor layer,
                                    std::string first_bytes) {
  // [snippet fetch-at]
  auto prefix = std::make_shared<coras::digester>();
  prefix->update(first_bytes);                        // the N bytes you have
  coras::remote::fetch_options from;
  from.offset = first_bytes.size();
  from.prefix = prefix;
  auto reader = co_await repo.async_fetch_at(layer, from);   // Range: bytes=N-
  // ... read to eof: the digest covered all of the blob
  // [end]
}

}  // namespace snippets

// The code blocks of docs/http.md, compiled (see readme.cpp).
#include <coras/http/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

namespace snippets {

boost::asio::awaitable<void> send() {
  // [snippet send]
  boost::asio::io_context ioc;
  coras::http::client_options opts;
  opts.tls.ca_file = "/etc/my-ca.pem";
  coras::http::client http(ioc.get_executor(), opts);

  coras::http::request req;
  req.url = "https://registry.example/v2/";
  auto resp = co_await http.async_send(req);               // header arrived
  auto body = co_await resp.async_read_all(opts.max_metadata_bytes);
  // [end]
  (void)body;
}

}  // namespace snippets

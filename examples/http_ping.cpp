// Pings a registry's /v2/ endpoint with coras's HTTP client and prints what
// came back, with the pool's counters. Shows the three ways to call an
// asynchronous coras operation: co_await, as_tuple and a plain callback.
//
//   example_http_ping http://127.0.0.1:5000 [--insecure]
#include <coras/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> ping(coras::http::client& c, std::string base) {
  coras::http::request req;
  req.url = base + "/v2/";
  // 1. co_await: errors are thrown as exceptions.
  coras::http::response resp = co_await c.async_send(req);
  std::cout << "status " << resp.status() << '\n';
  for (const auto& f : resp.headers()) std::cout << f.name << ": " << f.value << '\n';
  // 2. as_tuple: errors come back as values.
  auto [ec, body] = co_await resp.async_read_all(4096, asio::as_tuple(asio::use_awaitable));
  if (ec)
    std::cout << "body error: " << ec.message() << '\n';
  else
    std::cout << "body " << body << '\n';
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_http_ping BASE_URL [--insecure]\n";
    return 2;
  }
  asio::io_context ioc;
  coras::http::client_options options;
  options.tls.insecure_skip_verify = argc > 2 && std::string(argv[2]) == "--insecure";
  // This thread alone runs `ioc` (the ioc.run() below): the client needs no
  // strand of its own (docs/http.md, "One thread").
  options.single_threaded = true;
  coras::http::client c(ioc.get_executor(), options);
  int status = 0;
  asio::co_spawn(ioc, ping(c, argv[1]), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "error: " << ex.what() << '\n';
      status = 1;
    }
  });
  // 3. A plain callback: no coroutine needed.
  coras::http::request again;
  again.method = "HEAD";
  again.url = std::string(argv[1]) + "/v2/";
  c.async_send(again, [](coras::error_code ec, coras::http::response r) {
    std::cout << "callback: " << (ec ? ec.message() : std::to_string(r.status())) << '\n';
  });
  ioc.run();
  auto s = c.stats();
  std::cout << "connections opened " << s.connections_opened << ", reused " << s.connections_reused
            << ", TLS handshakes " << s.tls_handshakes << '\n';
  return status;
}

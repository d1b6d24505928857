// Compile-time check that every public asynchronous operation accepts each
// kind of completion token users pass: with_diagnostics(deferred) (the
// default, co_await), with_diagnostics around another token,
// use_awaitable, as_tuple, a plain callback, and use_future. Nothing here
// runs; the build failing is the test failing.
#include <coras/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

namespace asio = boost::asio;

[[maybe_unused]] static asio::awaitable<void> every_token(coras::http::client& c,
                                                          coras::http::request req) {
  coras::http::response r1 = co_await c.async_send(req);
  coras::http::response r2 = co_await c.async_send(req, asio::use_awaitable);
  auto [ec, r3] = co_await c.async_send(req, asio::as_tuple(asio::use_awaitable));
  c.async_send(req, [](coras::error_code, coras::http::response) {});
  std::future<coras::http::response> f = c.async_send(req, asio::use_future);
  std::future<coras::http::response> fw =
      c.async_send(req, coras::with_diagnostics(asio::use_future));

  char buf[16];
  std::size_t n1 = co_await r1.async_read_some(asio::buffer(buf));
  auto [ec2, n2] =
      co_await r1.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
  r1.async_read_some(asio::buffer(buf), [](coras::error_code, std::size_t) {});
  std::string s1 = co_await r2.async_read_all(10);
  auto [ec3, s2] = co_await r2.async_read_all(10, asio::as_tuple(asio::use_awaitable));
  std::future<std::string> f2 = r2.async_read_all(10, asio::use_future);
  (void)n1, (void)n2, (void)ec, (void)ec2, (void)ec3, (void)r3;
}

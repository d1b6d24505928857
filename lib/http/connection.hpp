// One connection to an origin, as a Beast stream (plain TCP or TLS), and how
// one is opened: resolve and connect, a proxy's CONNECT tunnel, the TLS
// handshake. Included by the translation units that do Beast I/O
// (connection.cpp, exchange.cpp) only; the pool sees connections opaquely.
#pragma once

#include "client_impl.hpp"
#include "deadlines.hpp"
#include "pool.hpp"
#include "protocol.hpp"
#include "tls_stream.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace coras::http::detail {

inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

using plain_stream = boost::beast::tcp_stream;

/// Throws errc::timeout: "WHAT timed out after N ms (client_options::OPTION)".
/// `option` names the limit that was hit (e.g. "timeouts.connect"), so the
/// user knows what to raise.
[[noreturn]] void throw_timeout(std::string_view what, std::chrono::milliseconds limit,
                                std::string_view option);

/// Rethrows I/O errors, turning Beast's stream timeout into errc::timeout
/// (naming `option`, as throw_timeout).
void check(const error_code& ec, std::string_view what, std::chrono::milliseconds limit,
           std::string_view option);

// One connection to an origin (through a proxy or not).
struct connection {
  origin key;
  std::variant<plain_stream, tls_stream> stream;
  boost::beast::flat_buffer buffer;
  bool absolute_form = false;  // plain HTTP through a proxy: request targets are full URLs
  // With absolute_form: the proxy's Proxy-Authorization (from the proxy URL's
  // userinfo), sent on each request to the proxy; empty otherwise.
  std::string proxy_authorization;
  std::string session_key;  // key.str(): TLS sessions are cached per origin
  // The last request head sent, kept for its capacity (request_head).
  std::string head_buffer;
  // The time limit of the read or write under way (the client's
  // io_deadlines); Beast's own stream timeouts are for opening only.
  io_deadline deadline{this};

  // Beast reads as much as the buffer's free capacity (at least 512 bytes):
  // a buffer left at its small first size turns a blob body into 512-byte
  // reads (262,144 recvmsg calls for 128 MiB). 64 KiB per read instead.
  static constexpr std::size_t read_buffer = 64 * 1024;

  connection(origin k, plain_stream s)
      : key(std::move(k)), stream(std::move(s)), session_key(key.str()) {
    buffer.reserve(read_buffer);
  }
  connection(origin k, tls_stream s)
      : key(std::move(k)), stream(std::move(s)), session_key(key.str()) {
    buffer.reserve(read_buffer);
  }

  boost::beast::tcp_stream& lowest() {
    return std::visit(
        [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); },
        stream);
  }
  // `clean`: the connection did nothing wrong (idle expiry, peer closed it
  // between requests). OpenSSL voids the TLS session of a connection freed
  // without a shutdown; marking it shut down keeps the session resumable.
  void close(bool clean = false);
  // A pooled connection the server has closed (or sent unexpected bytes on)
  // must not be used: peek without blocking.
  bool looks_alive();
};

/// Opens a connection to `to` for `c`: directly or through the proxy its
/// settings name (a CONNECT tunnel for https), then the TLS handshake for
/// https, resuming the origin's last session when it can. Each step is
/// bounded by its timeout.
boost::asio::awaitable<connection_ptr> open_connection(client_impl& c, const origin& to);

}  // namespace coras::http::detail

// The state of one embedded registry (`server::registry`'s implementation),
// shared by the accept loop (registry.cpp) and the connections it serves
// (connection.cpp): options, storage, the dispatcher, the listener, TLS, and
// the set of open connections. Asio and Beast: included by those two
// translation units only.
#pragma once

#include "server/handler.hpp"
#include "server/hooks.hpp"
#include "server/storage.hpp"

#include <coras/server/registry.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace coras::server::detail {

struct registry_impl {
  /// Loads the TLS certificate and key when the options name them.
  registry_impl(boost::asio::any_io_executor ex, registry_options opts);

  boost::asio::any_io_executor executor;
  boost::asio::any_io_executor strand;  // detail::make_strand: copies do not allocate
  registry_options options;
  std::shared_ptr<server::storage> store;
  detail::hooks hooks;
  detail::dispatcher dispatch;
  boost::asio::ip::tcp::acceptor acceptor;
  std::optional<boost::asio::ssl::context> tls;
  std::atomic<std::uint16_t> port{0};
  std::string host;       // "address:port", written once by start()
  bool stopping = false;  // strand only
  // Open connections (strand only). `waiting`: between requests or inside a
  // request head (or the TLS handshake); such a connection may be closed to
  // make room for a new one when `max_connections` are open.
  struct connection_state {
    bool waiting = true;
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  };
  std::unordered_map<boost::beast::tcp_stream*, connection_state> connections;

  // The listening descriptor, for stop() to release the port at once: -1
  // once closed. Guarded by listen_mutex.
  std::mutex listen_mutex;
  int listen_fd = -1;

  // Stops listening now, from any thread: shutdown(2) takes a listening
  // socket out of LISTEN on Linux, so the port can be bound again (e.g. by a
  // registry restarted on it) before close_all runs on the strand.
  void stop_listening();
  // Closes the listener and every open connection (strand only).
  void close_all();
  // Marks `s` as waiting for a request head (or busy with a request).
  void set_waiting(boost::beast::tcp_stream& s, bool waiting);
  // At `max_connections`: closes the connection waiting longest for a request
  // (head), so that a new client is served rather than a silent one. False
  // when every connection is busy with a request: the new one is refused.
  bool make_room();
};

using impl_ptr = std::shared_ptr<registry_impl>;

/// Serves one accepted connection until it closes (connection.cpp): the TLS
/// handshake when the registry has a certificate, then requests one after
/// another. Runs on `self->strand`.
boost::asio::awaitable<void> session(impl_ptr self, boost::asio::ip::tcp::socket socket);

/// Waits `d`; false when the wait was cancelled.
boost::asio::awaitable<bool> sleep_for(std::chrono::milliseconds d);

}  // namespace coras::server::detail

// The client's connection pool: idle connections per origin, a limit of open
// ones, and waiters served in order. Free of Beast and OpenSSL: a connection
// is opaque here (its stream lives in connection.hpp), so the pool compiles
// without them. Used on the client's strand only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coras::http::detail {

/// One connection to an origin (connection.hpp); opaque to the pool.
struct connection;
struct connection_deleter {
  void operator()(connection* c) const noexcept;  // connection.cpp
};
using connection_ptr = std::unique_ptr<connection, connection_deleter>;

/// False when a pooled connection must not be reused: closed, or with bytes
/// the server sent unasked (connection.cpp).
bool connection_looks_alive(connection& c) noexcept;
/// Closes the socket. `clean`: the connection did nothing wrong (idle expiry,
/// peer closed it between requests), so its TLS session stays resumable
/// (connection.cpp).
void close_connection(connection& c, bool clean) noexcept;

struct pool_waiter;  // pool.cpp

struct idle_connection {
  connection_ptr conn;
  std::chrono::steady_clock::time_point since;
};

struct origin_pool {
  std::vector<idle_connection> idle;  // most recently used at the back
  std::size_t busy = 0;               // checked out or being opened
  // A connection reused without a peek failed before its response: this
  // server closes connections without saying so; peek at every reuse.
  bool peek_always = false;
  std::deque<pool_waiter*> waiters;
};

/// The pools of all origins, by origin key (`origin::str()`).
struct connection_pool {
  /// The pool of `key`'s origin, made on first use. Found by a view: a
  /// request builds its key in `scratch`, not in a string of its own.
  origin_pool& at(std::string_view key);

  std::map<std::string, origin_pool, std::less<>> origins;  // std::map: references stay valid
  std::string scratch;                                      // for the key of the request at hand
};

/// When an idle connection may be reused: idle less than `idle`, and, once
/// idle for `peek_after` or longer (or always, on an origin_pool that
/// peeks always), still open and silent (a peek).
struct reuse_rules {
  std::chrono::steady_clock::duration idle;
  std::chrono::steady_clock::duration peek_after;
};

/// Checks out a connection for an origin, or the right to open one (`conn`
/// stays null); destruction returns it as not reusable.
class pool_lease {
 public:
  pool_lease(connection_pool& pool, std::string_view key, std::size_t limit)
      : origin_(&pool.at(key)), limit_(limit) {}
  /// Moving hands the connection and the place over: the source holds neither.
  pool_lease(pool_lease&& other) noexcept
      : conn(std::move(other.conn)),
        reused(other.reused),
        unchecked(other.unchecked),
        origin_(other.origin_),
        limit_(other.limit_),
        counted_(std::exchange(other.counted_, false)) {}
  pool_lease& operator=(pool_lease&&) = delete;
  ~pool_lease() { release(false); }

  /// Takes an idle connection that `rules` allow, or a free slot; false
  /// when neither is there (then `acquire`, which waits).
  bool try_acquire(const reuse_rules& rules);
  /// Takes what try_acquire takes, or waits for a connection or a slot to be
  /// released. Throws `operation_aborted` when the wait is cancelled.
  boost::asio::awaitable<void> acquire(reuse_rules rules);

  /// Returns the connection (kept alive when `reusable`) and frees the slot.
  void release(bool reusable);

  /// Its origin peeks at every reuse from now on: a connection reused
  /// `unchecked` failed before its response.
  void peek_always() noexcept { origin_->peek_always = true; }

  connection_ptr conn;
  bool reused = false;
  bool unchecked = false;  // reused without the peek

 private:
  origin_pool* origin_;  // a node of connection_pool::origins: never moves, never erased
  std::size_t limit_;
  bool counted_ = false;
};

}  // namespace coras::http::detail

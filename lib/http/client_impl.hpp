// The HTTP client's implementation as coras's own layers use it: coroutines
// that throw `coras::error`. Free of Beast, so that including it is cheap;
// Beast lives in connection.cpp and exchange.cpp only.
#pragma once

#include "admission.hpp"
#include "protocol.hpp"

#include <coras/http/client.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>

namespace coras::http {

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  /// A strand, type-erased so that it does not allocate (detail/strand.hpp).
  using strand_type = boost::asio::any_io_executor;

  client_impl(boost::asio::any_io_executor ex, client_options options);
  ~client_impl();

  /// Sends a request through the admission gate, then the authorizer (when
  /// the options name one), then send_plain. Not a coroutine itself: it
  /// takes the gate's place when called, so call it on `strand()` (from a
  /// coroutine running there) and await it at once.
  boost::asio::awaitable<response> send(request req);
  /// Redirects and retries without authentication (what the authorizer
  /// calls, and what a token service gets). `place`, the request gate's
  /// when send took one, is held until the response head is returned.
  boost::asio::awaitable<response> send_plain(
      request req, std::optional<detail::admission::ticket> place = std::nullopt);

  const strand_type& strand() const noexcept { return strand_; }
  /// The strand as a completion executor, made once: the fallback when a
  /// type-erased handler is asked for its executor (converting strand() to
  /// one allocated, twice a manifest GET).
  const boost::asio::any_completion_executor& completion_strand() const noexcept {
    return completion_strand_;
  }
  const client_options& options() const noexcept { return options_; }
  client_stats stats() const;

  struct state;  // pool, TLS context, proxy settings (client_state.hpp)
  state& st() noexcept { return *state_; }

  /// The gate repository operations pass before their coroutines exist
  /// (lib/remote/operation_start.hpp); same limit as requests.
  detail::admission& operations() noexcept { return operations_; }

 private:
  boost::asio::awaitable<response> authorized(request req,
                                              std::optional<detail::admission::ticket> place);
  boost::asio::awaitable<response> send_when_admitted(request req, detail::admission::gate& gate,
                                                      std::size_t limit);
  // send_plain's pieces that need no frame of their own (send.cpp).
  detail::send_step next_step_for(const response& resp, const request& req, int redirects,
                                  int attempt, bool retryable);
  double random01();  // for the retry jitter
  static boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);

  strand_type strand_;
  boost::asio::any_completion_executor completion_strand_;
  client_options options_;
  std::unique_ptr<state> state_;
  detail::admission admission_;
  detail::admission operations_;
  std::mt19937_64 rng_{std::random_device{}()};  // retry jitter
};

class response_impl {
 public:
  struct state;  // the connection and Beast parser (exchange.cpp)
  virtual ~response_impl();

  unsigned status() const noexcept { return status_; }
  const http::fields& headers() const noexcept { return headers_; }
  const std::string& url() const noexcept { return url_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  bool body_done() const noexcept;
  /// The strand of the client this response came from.
  const client_impl::strand_type& strand() const noexcept;

  /// Reads body bytes; 0 only when `buffer` is empty. Throws asio::error::eof
  /// once the body is done.
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
  /// The rest of the body, or errc::size_limit_exceeded past `limit`.
  boost::asio::awaitable<std::string> read_all(std::uint64_t limit);
  /// The whole rest of a Content-Length body of at most `limit` bytes when
  /// it is already in the connection's buffer (a small body that came with
  /// the header), read without a coroutine; else nullopt, nothing read.
  std::optional<std::string> take_buffered_body(std::uint64_t limit);
  /// Reads and drops a short rest of the body so the connection can be reused;
  /// a long one closes the connection instead.
  boost::asio::awaitable<void> discard();

  unsigned status_ = 0;
  http::fields headers_;
  std::string url_;
  std::optional<std::uint64_t> content_length_;

 private:
  // read_some for a Content-Length body: from the stream into `buffer`.
  boost::asio::awaitable<std::size_t> read_direct(boost::asio::mutable_buffer buffer);

 protected:
  // `s` belongs to the derived object (exchange.cpp): the response and its
  // state are one allocation.
  explicit response_impl(state& s) noexcept : state_(&s) {}

 private:
  state* state_;
};

}  // namespace coras::http

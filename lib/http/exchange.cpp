// One request on one pooled connection (exchange.hpp): writing the request
// and its body, reading the response header, then streaming the body
// (response_impl). One of the two translation units of the client that
// instantiate Beast (with connection.cpp).
#include "exchange.hpp"

#include "client_state.hpp"
#include "connection.hpp"
#include "detail/strand.hpp"
#include "response_parser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <charconv>
#include <cstdio>
#include <memory>

namespace coras::http {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using detail::check;
using detail::origin;
using detail::tuple_awaitable;
using std::chrono::steady_clock;

namespace {
constexpr std::size_t io_chunk = 64 * 1024;
}  // namespace

// ---------------------------------------------------------------- response

struct response_impl::state {
  std::shared_ptr<client_impl> client;
  std::optional<detail::pool_lease> lease;
  detail::response_parser parser;
  // A Content-Length body: the bytes still to come. Such a body is read
  // from the stream straight into the caller's buffer (read_direct), not
  // through the parser, which reads into the connection's buffer first and
  // copies from there: a second pass over every blob byte, 64 KiB a read.
  std::optional<std::uint64_t> body_left;
  request_event event;
  steady_clock::time_point started;
  bool finished = false;

  ~state() {
    if (!finished) finish(asio::error::operation_aborted);
  }

  detail::connection& conn() { return *lease->conn; }

  bool body_complete() const { return body_left ? *body_left == 0 : parser.is_done(); }

  // Ends the exchange: the connection goes back to the pool only when the
  // body was read to its end and both sides allow keep-alive.
  void finish(error_code ec) {
    if (finished) return;
    finished = true;
    bool reusable = !ec && body_complete() && parser.keep_alive();
    event.error = ec;
    event.duration = steady_clock::now() - started;
    // Pool state lives on the client's strand; a response may be dropped on
    // any thread, so the release goes there (inline when already on it).
    if (coras::detail::running_in(client->strand()))
      return give_back(*client, lease, reusable, event);
    asio::dispatch(client->strand(),
                   [c = client, l = std::move(lease), reusable, e = std::move(event)]() mutable {
                     give_back(*c, l, reusable, e);
                   });
  }

  // finish's end, on the strand: the connection back to the pool, the event out.
  static void give_back(client_impl& c, std::optional<detail::pool_lease>& lease, bool reusable,
                        const request_event& e) {
    if (lease) lease->release(reusable);
    if (c.options().on_request) c.options().on_request(e);
  }
};

response_impl::~response_impl() = default;

namespace {
// The response and its exchange's state in one allocation.
class exchange_response final : public response_impl {
 public:
  exchange_response() : response_impl(own_) {}  // only its address, before it is built
  state& st() noexcept { return own_; }

 private:
  state own_;
};
}  // namespace

const client_impl::strand_type& response_impl::strand() const noexcept {
  return state_->client->strand();
}

bool response_impl::body_done() const noexcept {
  return state_->finished && state_->body_complete();
}

asio::awaitable<std::size_t> response_impl::read_some(asio::mutable_buffer buffer) {
  auto& st = *state_;
  if (st.body_complete()) {
    st.finish({});
    throw boost::system::system_error(asio::error::eof);
  }
  if (st.finished)
    throw boost::system::system_error(asio::error::not_connected, "response body abandoned");
  if (buffer.size() == 0) co_return 0;
  if (st.body_left) co_return co_await read_direct(buffer);
  auto limit = st.client->options().timeouts.body_idle;
  auto& deadlines = st.client->st().deadlines;
  for (;;) {
    st.parser.body_buffer(buffer.data(), buffer.size());
    auto& conn = st.conn();
    deadlines.arm(conn.deadline, limit);
    auto [ec, ignored] = co_await std::visit(
        [&](auto& s) { return bhttp::async_read_some(s, conn.buffer, st.parser, tuple_awaitable); },
        conn.stream);
    ec = deadlines.disarm(conn.deadline, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      std::string what = "reading response body from " + conn.key.str();
      st.finish(ec);  // releases (closes) the connection: `conn` is gone after this
      check(ec, what, limit, "timeouts.body_idle");
    }
    std::size_t n = buffer.size() - st.parser.body_room();
    st.event.response_body_bytes += n;
    if (st.parser.is_done()) st.finish({});
    if (n > 0 || st.parser.is_done()) co_return n;
  }
}

asio::awaitable<std::size_t> response_impl::read_direct(asio::mutable_buffer buffer) {
  auto& st = *state_;
  auto& conn = st.conn();
  buffer = asio::buffer(
      buffer, static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), *st.body_left)));
  std::size_t n = 0;
  if (conn.buffer.size() > 0) {
    // What came in with the header first.
    n = asio::buffer_copy(buffer, conn.buffer.data());
    conn.buffer.consume(n);
  } else {
    auto limit = st.client->options().timeouts.body_idle;
    auto& deadlines = st.client->st().deadlines;
    deadlines.arm(conn.deadline, limit);
    auto [ec, got] = co_await std::visit(
        [&](auto& s) { return s.async_read_some(buffer, tuple_awaitable); }, conn.stream);
    ec = deadlines.disarm(conn.deadline, ec);
    // The parser's word for a body cut short, as when it read the body.
    if (ec == asio::error::eof) ec = bhttp::error::partial_message;
    if (ec) {
      std::string what = "reading response body from " + conn.key.str();
      st.finish(ec);  // releases (closes) the connection: `conn` is gone after this
      check(ec, what, limit, "timeouts.body_idle");
    }
    n = got;
  }
  *st.body_left -= n;
  st.event.response_body_bytes += n;
  if (*st.body_left == 0) st.finish({});
  co_return n;
}

std::optional<std::string> response_impl::take_buffered_body(std::uint64_t limit) {
  auto& st = *state_;
  if (st.finished || !st.body_left || *st.body_left > limit) return std::nullopt;
  auto& conn = st.conn();
  if (conn.buffer.size() < *st.body_left) return std::nullopt;
  std::string out(static_cast<std::size_t>(*st.body_left), '\0');
  asio::buffer_copy(asio::buffer(out), conn.buffer.data());
  conn.buffer.consume(out.size());
  st.event.response_body_bytes += out.size();
  *st.body_left = 0;
  st.finish({});
  return out;
}

asio::awaitable<std::string> response_impl::read_all(std::uint64_t limit) {
  if (content_length_ && *content_length_ > limit)
    throw error(errc::size_limit_exceeded,
                "response from " + url_ + " has " + std::to_string(*content_length_) +
                    " bytes, more than the limit of " + std::to_string(limit));
  // Exactly the announced size when there is one; otherwise grow from 4 KiB
  // (zero-filling a 64 KiB buffer per small answer costs more than the I/O).
  std::string out;
  std::size_t capacity = content_length_ ? static_cast<std::size_t>(*content_length_) : 4096;
  while (!state_->body_complete()) {
    std::size_t old = out.size();
    if (old == capacity) capacity *= 2;
    // One byte past the limit tells "exactly at the limit" from "over it".
    std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::max<std::size_t>(capacity - old, 1), limit + 1 - old));
    out.resize(old + room);
    std::size_t n = co_await read_some(asio::buffer(out.data() + old, room));
    out.resize(old + n);
    if (out.size() > limit) {
      state_->finish(make_error_code(errc::size_limit_exceeded));
      throw error(errc::size_limit_exceeded, "response from " + url_ +
                                                 " is larger than the limit of " +
                                                 std::to_string(limit) + " bytes");
    }
  }
  state_->finish({});
  co_return out;
}

asio::awaitable<void> response_impl::discard() {
  constexpr std::uint64_t max_drain = 64 * 1024;
  if (state_->body_complete()) {
    state_->finish({});
    co_return;
  }
  if (content_length_ && *content_length_ > max_drain) {
    state_->finish(asio::error::operation_aborted);
    co_return;
  }
  std::string scratch(io_chunk, '\0');
  std::uint64_t drained = 0;
  while (!state_->body_complete() && drained <= max_drain) {
    auto [ep, n] = co_await asio::co_spawn(co_await asio::this_coro::executor,
                                           read_some(asio::buffer(scratch)), tuple_awaitable);
    if (ep) break;
    drained += n;
  }
  state_->finish(state_->body_complete() ? error_code() : asio::error::operation_aborted);
}

response::response() noexcept = default;
response::response(std::unique_ptr<response_impl> impl) noexcept : impl_(std::move(impl)) {}
response::response(response&&) noexcept = default;
response& response::operator=(response&&) noexcept = default;
response::~response() = default;

namespace {
const http::fields empty_fields;
const std::string empty_string;
}  // namespace

unsigned response::status() const noexcept { return impl_ ? impl_->status() : 0; }
const http::fields& response::headers() const noexcept {
  return impl_ ? impl_->headers() : empty_fields;
}
const std::string& response::url() const noexcept { return impl_ ? impl_->url() : empty_string; }
std::optional<std::uint64_t> response::content_length() const noexcept {
  return impl_ ? impl_->content_length() : std::nullopt;
}
bool response::body_done() const noexcept { return !impl_ || impl_->body_done(); }

// ---------------------------------------------------------------- exchange

namespace {
bool has_body_method(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH"; }
}  // namespace

using detail::connection_failure;

namespace {
// Sends a body read piece by piece (`size` bytes, or chunked when unknown):
// its own coroutine, so that a request without one (most) keeps the
// exchange's frame small. `sent` counts the bytes as they go (the request
// event reports them, also when the exchange fails).
asio::awaitable<void> send_streamed_body(detail::io_deadlines& deadlines, detail::connection& conn,
                                         byte_source& body, std::optional<std::uint64_t> size,
                                         const origin& to, std::chrono::milliseconds idle,
                                         std::uint64_t& sent) {
  const bool chunked = !size;
  auto write = [&](auto buffers) -> asio::awaitable<void> {
    deadlines.arm(conn.deadline, idle);
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return asio::async_write(s, buffers, tuple_awaitable); }, conn.stream);
    ec = deadlines.disarm(conn.deadline, ec);
    if (ec) check(ec, "sending request body to " + to.str(), idle, "timeouts.body_idle");
  };
  // Sized to the body when it is small (a manifest), not zero-filled.
  std::size_t chunk_size = std::max<std::size_t>(
      static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk, size.value_or(io_chunk))), 1);
  auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
  for (;;) {
    std::size_t n = co_await body.read(asio::buffer(chunk.get(), chunk_size));
    sent += n;
    if (size && sent > *size) break;  // reported below
    if (!chunked) {
      if (n == 0) break;
      co_await write(asio::buffer(chunk.get(), n));
      continue;
    }
    // Transfer-Encoding: chunked; a read of 0 is the end: the last chunk.
    char frame[24];
    const int len = n ? std::snprintf(frame, sizeof frame, "%zx\r\n", n)
                      : std::snprintf(frame, sizeof frame, "0\r\n\r\n");
    std::array<asio::const_buffer, 3> framed{asio::buffer(frame, static_cast<std::size_t>(len)),
                                             asio::buffer(chunk.get(), n),
                                             asio::buffer("\r\n", n ? 2 : 0)};
    co_await write(framed);
    if (n == 0) break;
  }
  if (size && sent != *size)
    throw error(errc::size_mismatch, "request body was " + std::to_string(sent) +
                                         " bytes, not the announced " + std::to_string(*size));
}

// The length a response stands for: its body's, or for a HEAD answer the
// Content-Length of the GET body it describes.
std::optional<std::uint64_t> announced_length(bool head, const detail::response_parser& parser,
                                              const fields& headers) {
  if (!head) {
    if (auto n = parser.content_length()) return *n;
    return std::nullopt;
  }
  auto cl = headers.get("Content-Length");
  if (!cl) return std::nullopt;
  std::uint64_t v = 0;
  auto r = std::from_chars(cl->data(), cl->data() + cl->size(), v);
  if (r.ec == std::errc() && r.ptr == cl->data() + cl->size()) return v;
  return std::nullopt;
}
}  // namespace

asio::awaitable<response> detail::exchange(client_impl& c, const origin& to,
                                           const std::string& target, const std::string& url,
                                           const std::string& method, const fields& headers,
                                           byte_source* body, bool resent_on_failure) {
  auto& st = c.st();
  const auto& opt = c.options();
  auto impl = std::make_unique<exchange_response>();
  auto& rs = impl->st();
  rs.client = c.shared_from_this();
  rs.started = steady_clock::now();
  // The event's words only for someone who listens (they cost allocations a request).
  if (opt.on_request) {
    rs.event.method = method;
    rs.event.url = strip_credentials(url);
  }
  rs.finished = true;  // nothing to report until a connection is in hand
  ++st.requests;

  st.pool.scratch.clear();
  to.append_str(st.pool.scratch);  // the pool's key, in no string of its own
  rs.lease.emplace(st.pool, st.pool.scratch, opt.max_connections_per_origin);
  // Without the peek only what a failure before the response sends again.
  const auto peek_after =
      resent_on_failure ? opt.timeouts.pool_peek_after : std::chrono::milliseconds(0);
  const detail::reuse_rules reuse{opt.timeouts.pool_idle, peek_after};
  // A coroutine (and its frame) only when there is something to wait for.
  if (!rs.lease->try_acquire(reuse)) co_await rs.lease->acquire(reuse);
  rs.finished = false;
  try {
    if (!rs.lease->conn) {
      rs.lease->conn = co_await detail::open_connection(c, to);
    } else {
      ++st.connections_reused;
    }
  } catch (const boost::system::system_error& e) {
    rs.finish(e.code());
    // TLS failures (an untrusted certificate, a plain-HTTP server) would fail
    // the same way again: not retried, like timeouts and cancellation.
    if (e.code() == errc::timeout || e.code() == asio::error::operation_aborted ||
        e.code().category() == asio::error::get_ssl_category())
      throw;
    throw connection_failure(e.code(), e.what());
  }
  rs.event.connection_reused = rs.lease->reused;
  auto& conn = *rs.lease->conn;

  std::optional<std::uint64_t> size = body ? body->size() : std::optional<std::uint64_t>(0);
  const bool chunked = body && !size;
  std::string head = detail::request_head(
      method, conn.absolute_form ? std::string_view(url) : std::string_view(target), to.authority(),
      headers, opt.user_agent,
      conn.absolute_form ? std::string_view(conn.proxy_authorization) : std::string_view(),
      chunked                             ? detail::body_framing::chunked
      : (body || has_body_method(method)) ? detail::body_framing::length
                                          : detail::body_framing::none,
      size.value_or(0), std::move(conn.head_buffer));

  const auto& t = opt.timeouts;
  bool response_started = false;
  try {
    // Writing `buffers` whole (the head goes out with the first piece of
    // body): the write's own awaitable, no coroutine frame of a helper's.
    auto write = [&](auto buffers) {
      st.deadlines.arm(conn.deadline, t.body_idle);
      return std::visit([&](auto& s) { return asio::async_write(s, buffers, tuple_awaitable); },
                        conn.stream);
    };
    auto wrote = [&](const std::tuple<error_code, std::size_t>& result, const char* what) {
      if (auto ec = st.deadlines.disarm(conn.deadline, std::get<0>(result)))
        check(ec, what + to.str(), t.body_idle, "timeouts.body_idle");
    };
    const char* sending = "sending request to ";
    if (!body) {
      wrote(co_await write(asio::buffer(head)), sending);
    } else if (auto whole = body->contiguous()) {
      // In memory already: sent from there, no copy.
      rs.event.request_body_bytes = whole->size();
      std::array<asio::const_buffer, 2> both{asio::buffer(head), *whole};
      wrote(co_await write(both), sending);
    } else {
      wrote(co_await write(asio::buffer(head)), sending);
      co_await send_streamed_body(st.deadlines, conn, *body, size, to, t.body_idle,
                                  rs.event.request_body_bytes);
    }
    conn.head_buffer = std::move(head);  // sent: its capacity serves the next request

    // Interim answers (100 Continue, 103 Early Hints: 1xx but 101) come
    // before the final one and are skipped. Taken as final, the real answer
    // would stay in the connection and be read as the next request's. One
    // response_header time limit covers them all: a server sending 1xx
    // answers forever times out.
    st.deadlines.arm(conn.deadline, t.response_header);
    const bool head = method == "HEAD";
    if (head) rs.parser.skip(true);
    for (;;) {
      auto& parser = rs.parser;
      auto [rec, rn] = co_await std::visit(
          [&](auto& s) {
            return bhttp::async_read_header(s, conn.buffer, parser, tuple_awaitable);
          },
          conn.stream);
      response_started = response_started || rn > 0 || !rec;
      const unsigned code = rec ? 0 : parser.status();
      if (rec || code < 100 || code > 199 || code == 101) {
        if ((rec = st.deadlines.disarm(conn.deadline, rec)))
          check(rec, "reading response header from " + to.str(), t.response_header,
                "timeouts.response_header");
        break;
      }
      std::destroy_at(&parser);  // Beast's parsers read one message each
      std::construct_at(&rs.parser, head);
    }
  } catch (const boost::system::system_error& e) {
    // Reused without the peek and failed before any answer: the server closes
    // connections unannounced; its pool peeks from now on.
    if (!response_started && rs.lease->unchecked) rs.lease->peek_always();
    rs.finish(e.code());
    // Timeouts are not retried: a stalled server would multiply the wait.
    if (!response_started && e.code() != errc::timeout && e.code() != errc::size_mismatch &&
        e.code() != asio::error::operation_aborted)
      throw connection_failure(e.code(), e.what(), rs.lease->reused);
    throw;
  }

  impl->status_ = rs.parser.status();
  impl->headers_ = std::move(rs.parser.fields());
  impl->content_length_ = announced_length(method == "HEAD", rs.parser, impl->headers_);
  // url_ is set by send_plain when it delivers the response (moved, not copied).
  rs.event.status = impl->status_;
  if (rs.parser.is_done())
    rs.finish({});
  else if (!rs.parser.chunked() && rs.parser.content_length())
    rs.body_left = rs.parser.content_length_remaining().value_or(0);
  co_return response(std::move(impl));
}

}  // namespace coras::http

// One connection of the embedded registry: the TLS handshake, reading
// request heads and streaming bodies with Beast, writing responses (sendfile
// for blob files on plain TCP), draining unwanted bodies and lingering
// closes. Every decision is made by the dispatcher (handler.hpp).
#include "server/pending.hpp"
#include "server/registry_impl.hpp"

#include "detail/posix_file.hpp"

#include <coras/http/fields.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <type_traits>

namespace coras::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<beast::tcp_stream>;
using detail::impl_ptr;
using detail::sleep_for;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Body reads and TLS file reads go through one buffer of this size per connection.
constexpr std::size_t chunk_size = 256 * 1024;
// A body nobody wants is read and dropped up to this size; beyond it the
// connection is closed after the response instead.
constexpr std::uint64_t drain_limit = 1024 * 1024;

detail::verb to_verb(http::verb v) {
  switch (v) {
    case http::verb::get: return detail::verb::get;
    case http::verb::head: return detail::verb::head;
    case http::verb::post: return detail::verb::post;
    case http::verb::put: return detail::verb::put;
    case http::verb::patch: return detail::verb::patch;
    case http::verb::delete_: return detail::verb::delete_;
    default: return detail::verb::other;
  }
}

// A request head the parser refused as malformed, as opposed to the stream
// ending, failing or timing out (those get no answer).
bool malformed_head(const boost::system::error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_method).category()) return false;
  switch (static_cast<http::error>(ec.value())) {
    case http::error::bad_line_ending:
    case http::error::bad_method:
    case http::error::bad_target:
    case http::error::bad_version:
    case http::error::bad_field:
    case http::error::bad_value:
    case http::error::bad_content_length:
    case http::error::bad_transfer_encoding:
    case http::error::bad_obs_fold:
    case http::error::multiple_content_length: return true;
    default: return false;
  }
}

// sendfile(2) has no MSG_NOSIGNAL: a peer that went away would kill the
// process with SIGPIPE. Block it on this thread around the call and swallow
// one the call raised, leaving the process's signal disposition alone.
ssize_t sendfile_nosignal(int socket, int fd, off_t* offset, std::size_t count) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  const ssize_t n = ::sendfile(socket, fd, offset, count);
  const int saved = errno;
  if (n < 0 && saved == EPIPE) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return n;
}

// Keeps the set of open connections current, for stop().
struct connection_entry {
  detail::registry_impl& self;
  beast::tcp_stream* stream;
  connection_entry(detail::registry_impl& s, beast::tcp_stream& st) : self(s), stream(&st) {
    self.connections.emplace(stream, detail::registry_impl::connection_state{});
  }
  ~connection_entry() { self.connections.erase(stream); }
};

request_record make_record(const http::request_parser<http::buffer_body>& parser, unsigned status) {
  static constexpr std::array<http::field, 9> logged{
      http::field::host,           http::field::range,         http::field::content_type,
      http::field::content_length, http::field::content_range, http::field::transfer_encoding,
      http::field::accept,         http::field::expect,        http::field::user_agent};
  const auto& req = parser.get();
  request_record r;
  r.method = req.method_string();
  r.target = req.target();
  r.authorization = req.count(http::field::authorization) > 0;
  r.status = status;
  for (auto f : logged) {
    auto it = req.find(f);
    if (it != req.end())
      r.headers.emplace_back(std::string(it->name_string()), std::string(it->value()));
  }
  return r;
}

// Sends `count` bytes of `fd` from `offset`: sendfile(2) on plain TCP, so the
// bytes never enter user space; read-then-write through `chunk` under TLS.
template <class Stream>
asio::awaitable<bool> send_file(Stream& stream, int fd, std::uint64_t offset, std::uint64_t count,
                                char* chunk) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    auto& socket = stream.socket();
    boost::system::error_code ec;
    socket.native_non_blocking(true, ec);
    if (ec) co_return false;
    off_t off = static_cast<off_t>(offset);
    while (count > 0) {
      const ssize_t n =
          sendfile_nosignal(socket.native_handle(), fd, &off,
                            static_cast<std::size_t>(std::min<std::uint64_t>(count, 1 << 30)));
      if (n > 0) {
        count -= static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, use_tuple);
        if (wait_ec) co_return false;
        continue;
      }
      co_return false;  // error, or the file is shorter than it was
    }
    co_return true;
  } else {
    while (count > 0) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk_size));
      const ssize_t n = ::pread(fd, chunk, want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) co_return false;
      auto [ec, written] = co_await asio::async_write(
          stream, asio::buffer(chunk, static_cast<std::size_t>(n)), use_tuple);
      if (ec) co_return false;
      offset += static_cast<std::uint64_t>(n);
      count -= static_cast<std::uint64_t>(n);
    }
    co_return true;
  }
}

// A body still arriving from an upstream (a pull-through cache): sent as it
// comes. A stream that fails (upstream gone, digest mismatch) ends the
// connection before the last byte, so the client cannot take it for whole.
template <class Stream>
asio::awaitable<bool> send_stream(Stream& stream, detail::reply& r, const std::string& head) {
  {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple);
    if (ec) co_return false;
  }
  std::unique_ptr<char[]> buffer(new char[chunk_size]);
  for (std::uint64_t sent = 0; sent < r.length;) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, r.length - sent));
    std::size_t got = 0;
    try {
      got = co_await r.stream->async_read_at(r.offset + sent, asio::buffer(buffer.get(), want));
    } catch (const std::exception&) {
      got = 0;
    }
    if (got == 0) co_return false;
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(buffer.get(), got), use_tuple);
    if (ec) co_return false;
    sent += got;
  }
  co_return true;
}

// Writes `r`. False when the connection must close: a write failed, or a cut
// fault ended the body early.
template <class Stream>
asio::awaitable<bool> write_reply(Stream& stream, detail::reply& r, bool keep_alive,
                                  std::string& head, char* chunk) {
  if (r.delay.count() > 0 && !co_await sleep_for(r.delay)) co_return false;

  coras::detail::unique_fd file;
  if (!r.head_only && r.has_blob_body() && !r.memory && !r.stream) {
    file = coras::detail::unique_fd(::open(r.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {  // deleted since the dispatcher looked
      detail::reply gone;
      detail::set_error(gone, registry_errc::blob_unknown);
      gone.header_edits = std::move(r.header_edits);
      r = std::move(gone);
    }
  }
  const bool send_body = !r.head_only && r.status != 204 && r.status >= 200;
  const bool chunked = send_body && r.header_edits && r.header_edits->unknown_length;
  detail::render_head(head, r, http::obsolete_reason(static_cast<http::status>(r.status)),
                      keep_alive, send_body, chunked);
  // Chunked: the body is one chunk, its size line ending `head`.
  const std::string_view trailer = !chunked            ? ""
                                   : r.body_size() > 0 ? "\r\n0\r\n\r\n"
                                                       : "0\r\n\r\n";

  if (!send_body || !r.has_blob_body()) {
    std::array<asio::const_buffer, 3> buffers{asio::buffer(head),
                                              asio::buffer(send_body ? r.text : std::string_view()),
                                              asio::buffer(trailer)};
    auto [ec, n] = co_await asio::async_write(stream, buffers, use_tuple);
    co_return !ec;
  }

  if (r.stream) co_return co_await send_stream(stream, r, head);
  // Blob bodies: straight from the stored bytes (memory) or the file.
  const std::uint64_t length = r.length;
  const std::uint64_t end = r.cut_after ? std::min(*r.cut_after, length) : length;
  const std::uint64_t stall_at = r.stall.count() > 0 ? end / 2 : end;
  auto send_range = [&](std::uint64_t from, std::uint64_t to,
                        bool with_head) -> asio::awaitable<bool> {
    if (r.memory) {
      std::array<asio::const_buffer, 2> buffers{
          asio::buffer(with_head ? std::string_view(head) : std::string_view()),
          asio::buffer(r.memory->data() + r.offset + from, static_cast<std::size_t>(to - from))};
      auto [ec, n] = co_await asio::async_write(stream, buffers, use_tuple);
      co_return !ec;
    }
    if (with_head) {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple);
      if (ec) co_return false;
    }
    co_return co_await send_file(stream, file.get(), r.offset + from, to - from, chunk);
  };
  if (!co_await send_range(0, stall_at, true)) co_return false;
  if (stall_at < end) {
    if (!co_await sleep_for(r.stall)) co_return false;
    if (!co_await send_range(stall_at, end, false)) co_return false;
  }
  if (end < length) co_return false;
  if (!trailer.empty()) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(trailer), use_tuple);
    if (ec) co_return false;
  }
  co_return true;
}

// Reads and drops a body nobody wants, up to drain_limit. False when it is
// larger (or the connection broke): the connection must close.
template <class Stream>
asio::awaitable<bool> drain(Stream& stream, beast::flat_buffer& buffer,
                            http::request_parser<http::buffer_body>& parser, char* chunk) {
  if (auto n = parser.content_length(); n && *n > drain_limit) co_return false;
  std::uint64_t total = 0;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk;
    body.size = chunk_size;
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
    total += chunk_size - body.size;
    if (total > drain_limit) co_return false;
  }
  co_return true;
}

// Closes after a response that left a request body unread: stop sending, then
// read (and drop) for a moment, so the client sees our answer rather than a
// reset caused by its unread bytes.
asio::awaitable<void> linger_close(beast::tcp_stream& stream, char* chunk) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::milliseconds(500));
  for (std::size_t total = 0; total < 16 * chunk_size;) {
    auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(chunk, chunk_size), use_tuple);
    if (read_ec) break;
    total += n;
  }
  stream.close();
}

template <class Stream>
asio::awaitable<void> serve(impl_ptr self, Stream& stream, bool tls) {
  auto& lowest = beast::get_lowest_layer(stream);
  // Buffers are sized to need (issue 17, item 12): a connection waiting for a
  // request holds a small read buffer only; the body chunk and the large read
  // buffer exist while a request needs them.
  beast::flat_buffer buffer;
  std::unique_ptr<char[]> chunk_memory;
  auto chunk_buffer = [&] {
    if (!chunk_memory) chunk_memory.reset(new char[chunk_size]);
    return chunk_memory.get();
  };
  std::string head;
  using duration = std::chrono::steady_clock::duration;
  const auto idle = std::chrono::duration_cast<duration>(self->options.idle_timeout);
  const auto header_deadline = std::chrono::duration_cast<duration>(self->options.header_timeout);
  const auto body_idle = std::chrono::duration_cast<duration>(self->options.body_timeout);

  for (;;) {
    self->set_waiting(lowest, true);
    chunk_memory.reset();
    if (buffer.size() == 0) {
      buffer.shrink_to_fit();
      // Between requests: wait for the first byte of the next one.
      lowest.expires_after(idle);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(1024), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(boost::none);  // bodies are streamed; sinks enforce their limits
    boost::system::error_code ec;
    // Usually the whole head came with the first read: parse it in place
    // (the parser stops after the head, `eager` being off).
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == http::error::need_more) ec = {};
    if (!ec && !parser.is_header_done()) {
      // The whole head within header_timeout of its first byte: no slowloris.
      lowest.expires_after(header_deadline);
      auto [read_ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      ec = read_ec;
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        detail::reply r;
        r.status = 431;
        r.close = true;
        co_await write_reply(stream, r, false, head, chunk_buffer());
      } else if (malformed_head(ec)) {
        // Not HTTP (a TLS ClientHello on the plain port, which Go clients
        // such as crane send when they probe https first) or a malformed
        // head: a 400 tells the client what went wrong, where a bare close
        // reads as a network failure worth retrying (RFC 9112, section 3).
        detail::reply r;
        r.status = 400;
        r.set("Content-Type", "text/plain; charset=utf-8");
        r.text = "400 Bad Request: not an HTTP/1.1 request\n";
        r.close = true;
        if (co_await write_reply(stream, r, false, head, chunk_buffer())) {
          // The rest of what the client sent is unread: linger, so that it
          // reads the 400 rather than a reset.
          co_await linger_close(lowest, chunk_buffer());
          co_return;
        }
      }
      break;
    }
    self->set_waiting(lowest, false);
    ++self->hooks.requests;
    const auto& req = parser.get();

    detail::exchange ex;
    ex.head.method = to_verb(req.method());
    ex.head.method_name = req.method_string();
    ex.head.target = req.target();
    ex.head.host = req[http::field::host];
    ex.head.authorization = req[http::field::authorization];
    ex.head.content_type = req[http::field::content_type];
    ex.head.content_range = req[http::field::content_range];
    ex.head.range = req[http::field::range];
    if (auto cl = parser.content_length()) ex.head.content_length = *cl;
    ex.head.chunked = parser.chunked();
    ex.head.tls = tls;
    const bool expects_continue = coras::http::iequals(req[http::field::expect], "100-continue");

    auto fail = [&](const std::exception& e) {
      self->dispatch.abort(ex);
      ex.out = detail::reply{};
      ex.out.status = 500;
      ex.out.text = std::string("internal error: ") + e.what() + "\n";
      ex.out.close = true;
    };
    try {
      self->dispatch.begin(ex);
    } catch (const std::exception& e) {
      fail(e);
    }

    bool body_left = !parser.is_done();
    if (ex.sink != detail::body_sink::none && ex.out.status < 300) {
      if (body_left && expects_continue) {
        static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(go_on), use_tuple);
        if (wec) {
          self->dispatch.abort(ex);
          break;
        }
      }
      bool stopped = false;
      // Beast reads as much as the buffer's free capacity: without this an
      // upload arrives in 512-byte reads.
      if (!parser.is_done()) buffer.reserve(64 * 1024);
      char* const chunk = chunk_buffer();
      while (!parser.is_done()) {
        auto& body = parser.get().body();
        body.data = chunk;
        body.size = chunk_size;
        lowest.expires_after(body_idle);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (rec == http::error::need_buffer) rec = {};
        if (rec) break;
        const std::size_t got = chunk_size - body.size;
        bool more = true;
        try {
          more = got == 0 || self->dispatch.on_body(ex, std::string_view(chunk, got));
        } catch (const std::exception& e) {
          fail(e);
          more = false;
        }
        if (!more) {
          stopped = true;
          break;
        }
      }
      if (!parser.is_done() && !stopped) {  // the connection broke mid-body
        self->dispatch.abort(ex);
        break;
      }
      body_left = !parser.is_done();
      if (!stopped) {
        try {
          self->dispatch.finish(ex);
        } catch (const std::exception& e) {
          fail(e);
        }
      }
    } else if (body_left) {
      self->dispatch.abort(ex);
      // An unsent body (Expect: 100-continue) may or may not follow: close.
      lowest.expires_after(body_idle);
      if (!expects_continue && co_await drain(stream, buffer, parser, chunk_buffer()))
        body_left = false;
      else
        ex.out.close = true;
    }

    if (ex.out.later) {  // a pull-through cache's fetch decides the response
      auto later = std::move(ex.out.later);
      try {
        co_await later->complete(ex);
      } catch (const std::exception& e) {
        fail(e);
      }
    }
    if (ex.out.drop) {  // an upload cut: no response, the connection closes
      self->hooks.record(make_record(parser, 0));
      break;
    }
    if (ex.head.method == detail::verb::head) ex.out.head_only = true;  // never a body
    self->hooks.record(make_record(parser, ex.out.status));
    const bool keep_alive = req.keep_alive() && !ex.out.close && !body_left;
    // A large body to a slow reader may take longer than any idle timeout.
    lowest.expires_never();
    char* const chunk = tls || body_left ? chunk_buffer() : nullptr;  // TLS file reads, lingering
    const bool ok = co_await write_reply(stream, ex.out, keep_alive, head, chunk);
    if (ok && body_left) {
      co_await linger_close(lowest, chunk);
      co_return;
    }
    if (!ok || !keep_alive) break;
  }
  boost::system::error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ec);
  lowest.close();
}

}  // namespace

asio::awaitable<bool> detail::sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(use_tuple);
  co_return !ec;
}

asio::awaitable<void> detail::session(impl_ptr self, tcp::socket socket) {
  beast::tcp_stream plain(std::move(socket));
  if (!self->tls) {
    connection_entry entry(*self, plain);
    if (self->stopping) co_return;
    co_await serve(self, plain, false);
    co_return;
  }
  tls_stream stream(std::move(plain), *self->tls);
  connection_entry entry(*self, beast::get_lowest_layer(stream));
  if (self->stopping) co_return;
  beast::get_lowest_layer(stream).expires_after(self->options.header_timeout);
  if (self->hooks.take_handshake_reset()) {
    // Fault: read (some of) the ClientHello, then reset the connection.
    char hello[512];
    co_await beast::get_lowest_layer(stream).async_read_some(asio::buffer(hello), use_tuple);
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().set_option(tcp::socket::linger(true, 0), ignored);
    beast::get_lowest_layer(stream).close();
    co_return;
  }
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (ec) co_return;
  ++self->hooks.handshakes;
  co_await serve(self, stream, true);
}

}  // namespace coras::server

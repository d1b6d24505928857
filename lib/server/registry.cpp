// The registry's I/O: accepting, TLS, reading request heads and streaming
// bodies with Beast, writing responses. Every decision is made by the
// dispatcher (handler.hpp); this is the only translation unit of the server
// that sees Asio and Beast.
#include "server/handler.hpp"
#include "server/storage.hpp"

#include "detail/posix_file.hpp"

#include <coras/http/fields.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

namespace coras::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<beast::tcp_stream>;

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

}  // namespace

struct detail::registry_impl {
  registry_impl(asio::any_io_executor ex, registry_options opts)
      : executor(std::move(ex)),
        strand(asio::make_strand(executor)),
        options(std::move(opts)),
        store(options.storage ? options.storage : std::make_shared<server::storage>(options.root)),
        hooks(options.request_log_capacity),
        dispatch(options, store, hooks),
        acceptor(strand) {
    if (options.tls_cert_file.empty() != options.tls_key_file.empty())
      throw std::invalid_argument("TLS needs both a certificate file and a key file");
    if (!options.tls_cert_file.empty()) {
      tls.emplace(asio::ssl::context::tls_server);
      tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      tls->use_certificate_chain_file(options.tls_cert_file.string());
      tls->use_private_key_file(options.tls_key_file.string(), asio::ssl::context::pem);
    }
  }

  asio::any_io_executor executor;
  asio::strand<asio::any_io_executor> strand;
  registry_options options;
  std::shared_ptr<server::storage> store;
  detail::hooks hooks;
  detail::dispatcher dispatch;
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls;
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
  std::unordered_map<beast::tcp_stream*, connection_state> connections;

  // The listening descriptor, for stop() to release the port at once: -1
  // once closed. Guarded by listen_mutex.
  std::mutex listen_mutex;
  int listen_fd = -1;

  // Stops listening now, from any thread: shutdown(2) takes a listening
  // socket out of LISTEN on Linux, so the port can be bound again (e.g. by a
  // registry restarted on it) before close_all runs on the strand.
  void stop_listening() {
    std::lock_guard lock(listen_mutex);
    if (listen_fd >= 0) ::shutdown(listen_fd, SHUT_RDWR);
  }

  void close_all() {
    stopping = true;
    boost::system::error_code ec;
    {
      std::lock_guard lock(listen_mutex);
      listen_fd = -1;
      acceptor.close(ec);
    }
    for (auto& [s, state] : connections) s->close();
  }

  void set_waiting(beast::tcp_stream& s, bool waiting) {
    auto it = connections.find(&s);
    if (it == connections.end()) return;
    it->second.waiting = waiting;
    it->second.since = std::chrono::steady_clock::now();
  }

  // At `max_connections`: closes the connection waiting longest for a request
  // (head), so that a new client is served rather than a silent one. False
  // when every connection is busy with a request: the new one is refused.
  bool make_room() {
    if (connections.size() < options.max_connections) return true;
    beast::tcp_stream* oldest = nullptr;
    std::chrono::steady_clock::time_point since{};
    for (auto& [s, state] : connections) {
      if (state.waiting && (!oldest || state.since < since)) {
        oldest = s;
        since = state.since;
      }
    }
    if (!oldest) return false;
    connections.erase(oldest);  // no longer counted; its coroutine ends on the close
    oldest->close();
    ++hooks.connections_evicted;
    return true;
  }
};

namespace {

using impl_ptr = std::shared_ptr<detail::registry_impl>;

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

asio::awaitable<bool> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(use_tuple);
  co_return !ec;
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

// Writes `r`. False when the connection must close: a write failed, or a cut
// fault ended the body early.
template <class Stream>
asio::awaitable<bool> write_reply(Stream& stream, detail::reply& r, bool keep_alive,
                                  std::string& head, char* chunk) {
  if (r.delay.count() > 0 && !co_await sleep_for(r.delay)) co_return false;

  coras::detail::unique_fd file;
  if (!r.head_only && r.has_blob_body() && !r.memory) {
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

asio::awaitable<void> session(impl_ptr self, tcp::socket socket) {
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

asio::awaitable<void> accept_loop(impl_ptr self) {
  for (;;) {
    auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
    if (self->stopping || !self->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      co_await sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ++self->hooks.connections;
    if (!self->make_room()) {
      // Every slot is busy with a request: refuse promptly rather than queue.
      ++self->hooks.connections_refused;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(self->strand, session(self, std::move(socket)), asio::detached);
  }
}

}  // namespace

registry::registry(boost::asio::any_io_executor executor, registry_options options)
    : impl_(std::make_shared<detail::registry_impl>(std::move(executor), std::move(options))) {}

registry::~registry() { stop(); }

void registry::start() {
  auto& self = *impl_;
  const tcp::endpoint ep(asio::ip::make_address(self.options.address), self.options.port);
  self.acceptor.open(ep.protocol());
  self.acceptor.set_option(tcp::acceptor::reuse_address(true));
  self.acceptor.bind(ep);
  self.acceptor.listen(asio::socket_base::max_listen_connections);
  {
    std::lock_guard lock(self.listen_mutex);
    self.listen_fd = self.acceptor.native_handle();
  }
  const auto bound = self.acceptor.local_endpoint();
  self.port = bound.port();
  const auto addr = bound.address().to_string();
  self.host =
      (bound.address().is_v6() ? "[" + addr + "]" : addr) + ":" + std::to_string(bound.port());
  self.dispatch.set_default_host(self.host);
  asio::co_spawn(self.strand, accept_loop(impl_), asio::detached);
}

void registry::stop() {
  impl_->stop_listening();
  asio::dispatch(impl_->strand, [self = impl_] { self->close_all(); });
}

std::uint16_t registry::port() const noexcept { return impl_->port; }
std::string registry::host() const { return impl_->host; }
std::string registry::url() const { return (impl_->tls ? "https://" : "http://") + impl_->host; }
std::shared_ptr<server::storage> registry::storage() const { return impl_->store; }
boost::asio::any_io_executor registry::get_executor() const noexcept { return impl_->executor; }

registry_stats registry::stats() const noexcept {
  registry_stats s;
  s.connections_accepted = impl_->hooks.connections.load();
  s.tls_handshakes = impl_->hooks.handshakes.load();
  s.requests = impl_->hooks.requests.load();
  s.connections_evicted = impl_->hooks.connections_evicted.load();
  s.connections_refused = impl_->hooks.connections_refused.load();
  s.faults_injected = impl_->hooks.faults_taken.load();
  return s;
}

void registry::reset_stats() noexcept {
  impl_->hooks.connections = 0;
  impl_->hooks.handshakes = 0;
  impl_->hooks.requests = 0;
  impl_->hooks.connections_evicted = 0;
  impl_->hooks.connections_refused = 0;
  impl_->hooks.faults_taken = 0;
}

std::vector<request_record> registry::recent_requests() const { return impl_->hooks.log(); }
void registry::clear_request_log() { impl_->hooks.clear_log(); }

void registry::cut_blob_gets(std::uint64_t after_bytes, unsigned count) {
  impl_->hooks.cut_blob_gets(std::deque<std::uint64_t>(count, after_bytes));
}
void registry::cut_blob_gets(std::vector<std::uint64_t> offsets) {
  impl_->hooks.cut_blob_gets(std::deque<std::uint64_t>(offsets.begin(), offsets.end()));
}
void registry::inject_status(status_fault fault) {
  impl_->hooks.set_status_fault(std::move(fault));
}
void registry::inject_delay(delay_fault fault) { impl_->hooks.set_delay_fault(std::move(fault)); }
void registry::redirect_blob_gets(std::string base_url) {
  impl_->hooks.set_redirect(std::move(base_url));
}
void registry::inject_headers(header_fault fault) {
  impl_->hooks.set_header_fault(std::move(fault));
}
void registry::cut_uploads(std::uint64_t after_bytes, unsigned count) {
  impl_->hooks.cut_uploads(std::deque<std::uint64_t>(count, after_bytes));
}
void registry::cut_uploads(std::vector<std::uint64_t> offsets) {
  impl_->hooks.cut_uploads(std::deque<std::uint64_t>(offsets.begin(), offsets.end()));
}
std::size_t registry::drop_upload_sessions() { return impl_->store->drop_uploads(); }
void registry::corrupt_blob_gets(unsigned count) { impl_->hooks.corrupt_blob_gets(count); }
void registry::reset_tls_handshakes(unsigned count) { impl_->hooks.reset_tls_handshakes(count); }
void registry::clear_faults() { impl_->hooks.clear_faults(); }

}  // namespace coras::server

// The client's TLS stream: OpenSSL over Beast's tcp_stream, with a BIO of
// our own in between. A read takes up to 128 KiB of records from the socket
// in one call and decrypts them, one after the other, straight into the
// caller's buffer; a write encrypts into one buffer sent in one call.
//
// Why not asio::ssl::stream: it reads one 17 KiB record a system call and
// copies each record twice on its way to OpenSSL (its input buffer, then a
// BIO pair); for a 1 GiB pull that was 62,000 recvmsg calls, as many Asio
// operations, and about a third of the client's TLS cost. Every socket
// operation here is the tcp_stream's: the expires_after() a caller sets on
// the lowest layer bounds it (the handshake), and closing that socket ends
// it (a request's I/O, timed by the client's io_deadlines).
//
// Errors are Asio's for the same events: OpenSSL's in
// asio::error::get_ssl_category(), asio::ssl::error::stream_truncated for a
// connection that ends without close_notify, asio::error::eof after it.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace coras::http::detail {

class tls_stream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using next_layer_type = boost::beast::tcp_stream;

  /// A client stream over the connected `next`, with the settings of `ctx`.
  tls_stream(boost::beast::tcp_stream next, boost::asio::ssl::context& ctx);
  tls_stream(tls_stream&&) noexcept;
  tls_stream& operator=(tls_stream&&) = delete;
  ~tls_stream();

  /// The connection's SSL object (for SNI, verification, sessions).
  SSL* native_handle() noexcept;
  boost::beast::tcp_stream& next_layer() noexcept { return next_; }
  executor_type get_executor() noexcept { return next_.get_executor(); }

  /// The client handshake. Signature `void(error_code, std::size_t)` (0).
  template <class Token>
  auto async_handshake(Token&& token) {
    return start(kind::handshake, {}, {}, std::forward<Token>(token));
  }

  /// Decrypts into the first non-empty buffer of `buffers` what has arrived
  /// (at least one byte, or an error). AsyncReadStream.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return start(kind::read, first(buffers, boost::asio::mutable_buffer()), {},
                 std::forward<Token>(token));
  }

  /// Encrypts and sends up to 64 KiB of the first non-empty buffer of
  /// `buffers`. AsyncWriteStream.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return start(kind::write, {}, first(buffers, boost::asio::const_buffer()),
                 std::forward<Token>(token));
  }

 private:
  // The OpenSSL side (tls_stream.cpp): each step goes as far as it can
  // without waiting, and says what it needs; `op` below drives it.
  class engine;
  enum class kind { handshake, read, write };
  enum class status { done, need_input, failed };
  struct step_result {
    status what = status::done;
    std::size_t bytes = 0;
    boost::system::error_code ec;
  };
  step_result step(kind k, boost::asio::mutable_buffer in, boost::asio::const_buffer out);
  bool has_output() const noexcept;
  boost::asio::const_buffer output() const noexcept;
  void output_sent() noexcept;
  boost::asio::mutable_buffer input_space() noexcept;
  void input_received(std::size_t n) noexcept;
  void input_ended() noexcept;

  template <class Buffer, class Sequence>
  static Buffer first(const Sequence& buffers, Buffer none) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (Buffer b(*it); b.size() > 0) return b;
    return none;
  }

  // One operation: steps of the engine, the socket I/O they ask for in
  // between, and the completion (posted when no I/O happened, so that the
  // handler never runs inside the initiating call).
  struct op {
    tls_stream* s;
    kind k;
    boost::asio::mutable_buffer in;
    boost::asio::const_buffer out;
    enum class io { none, reading, writing, posted } pending = io::none;
    bool did_io = false;
    bool finished = false;
    std::size_t result = 0;
    boost::system::error_code failure;

    op(tls_stream* stream, kind what, boost::asio::mutable_buffer into,
       boost::asio::const_buffer from) noexcept
        : s(stream), k(what), in(into), out(from) {}

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      switch (std::exchange(pending, io::none)) {
        case io::posted: return self.complete(failure, result);
        case io::reading:
          if (ec == boost::asio::error::eof)
            s->input_ended();
          else if (ec)
            return self.complete(ec, 0);
          else
            s->input_received(n);
          break;
        case io::writing:
          if (ec) return self.complete(ec, 0);
          s->output_sent();
          if (finished) return self.complete(failure, result);
          break;
        case io::none: break;
      }
      if (!finished &&
          ((k == kind::read && in.size() == 0) || (k == kind::write && out.size() == 0))) {
        finished = true;  // nothing asked: nothing done, as Asio's streams
      }
      for (;;) {
        if (!finished) {
          auto r = s->step(k, in, out);
          if (r.what == status::need_input && !s->has_output()) {
            auto space = s->input_space();
            if (space.size() > 0) {
              pending = io::reading;
              did_io = true;
              return s->next_.async_read_some(space, std::move(self));
            }
            // Never expected (OpenSSL takes every buffered byte before it
            // asks for more), but a full buffer must not spin.
            r = {status::failed, 0, boost::asio::error::no_buffer_space};
          }
          if (r.what != status::need_input) {
            finished = true;
            result = r.bytes;
            failure = r.ec;
          }
        }
        if (s->has_output()) {  // before anything else: what the step wrote
          pending = io::writing;
          did_io = true;
          return boost::asio::async_write(s->next_, s->output(), std::move(self));
        }
        if (finished) break;
      }
      if (did_io) return self.complete(failure, result);
      pending = io::posted;
      boost::asio::post(std::move(self));  // on the handler's executor
    }
  };

  template <class Token>
  auto start(kind k, boost::asio::mutable_buffer in, boost::asio::const_buffer out, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        op(this, k, in, out), token, next_);
  }

  boost::beast::tcp_stream next_;
  std::unique_ptr<engine> engine_;
};

}  // namespace coras::http::detail

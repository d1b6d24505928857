// The OpenSSL side of the client's TLS stream (tls_stream.hpp): a BIO whose
// reads take ciphertext from the stream's input buffer and whose writes
// append to its output buffer, so that OpenSSL never waits and the stream
// moves the bytes with Beast's tcp_stream.
#include "tls_stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace coras::http::detail {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Ciphertext taken from the socket per read: eight full records.
constexpr std::size_t input_size = 128 * 1024;
// Plaintext encrypted per write_some: four records, one send.
constexpr std::size_t write_piece = 64 * 1024;
}  // namespace

class tls_stream::engine {
 public:
  explicit engine(asio::ssl::context& ctx) : ssl_(SSL_new(ctx.native_handle())) {
    if (!ssl_) throw std::bad_alloc();
    BIO* bio = BIO_new(method());
    if (!bio) {
      SSL_free(ssl_);
      throw std::bad_alloc();
    }
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL owns its one reference
    SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_connect_state(ssl_);
  }
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine() { SSL_free(ssl_); }

  SSL* ssl() const noexcept { return ssl_; }

  step_result step(kind k, asio::mutable_buffer in, asio::const_buffer out) {
    ERR_clear_error();
    switch (k) {
      case kind::handshake: {
        const int r = SSL_do_handshake(ssl_);
        if (r == 1) return {};
        return failed(r);
      }
      case kind::read: {
        // One record per SSL_read_ex: as many as have arrived and fit.
        auto* p = static_cast<unsigned char*>(in.data());
        std::size_t got = 0;
        while (got < in.size()) {
          std::size_t n = 0;
          const int r = SSL_read_ex(ssl_, p + got, in.size() - got, &n);
          if (r != 1) {
            if (got > 0) break;  // what failed fails again on the next call
            return failed(r);
          }
          got += n;
        }
        return {status::done, got, {}};
      }
      case kind::write: {
        std::size_t n = 0;
        const int r = SSL_write_ex(ssl_, out.data(), std::min(out.size(), write_piece), &n);
        if (r != 1) return failed(r);
        return {status::done, n, {}};
      }
    }
    return {};
  }

  bool has_output() const noexcept { return !out_.empty(); }
  asio::const_buffer output() const noexcept { return asio::buffer(out_); }
  void output_sent() noexcept { out_.clear(); }

  asio::mutable_buffer input_space() noexcept {
    if (begin_ == end_) begin_ = end_ = 0;
    if (!in_) in_ = std::make_unique_for_overwrite<char[]>(input_size);
    if (end_ == input_size) {  // only a tail left unread: move it to the front
      std::memmove(in_.get(), in_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return asio::buffer(in_.get() + end_, input_size - end_);
  }
  void input_received(std::size_t n) noexcept { end_ += n; }
  void input_ended() noexcept { ended_ = true; }

 private:
  // What the last OpenSSL call's result means.
  step_result failed(int r) {
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) return {status::need_input, 0, {}};
    if (e == SSL_ERROR_ZERO_RETURN) return {status::failed, 0, asio::error::eof};
    if (e == SSL_ERROR_SSL) {
      const auto code = ERR_get_error();
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return {status::failed, 0, asio::ssl::error::stream_truncated};
      return {status::failed, 0,
              error_code(static_cast<int>(code), asio::error::get_ssl_category())};
    }
    // SSL_ERROR_SYSCALL: the BIO ran dry for good (the peer closed).
    return {status::failed, 0, asio::ssl::error::stream_truncated};
  }

  // The BIO: reads take from [begin_, end_) of in_, writes append to out_.
  static int bio_read(BIO* b, char* p, int size) {
    auto* e = static_cast<engine*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    const std::size_t have = e->end_ - e->begin_;
    if (have == 0) {
      if (e->ended_) return 0;
      BIO_set_retry_read(b);
      return -1;
    }
    const std::size_t n = std::min(have, static_cast<std::size_t>(std::max(size, 0)));
    std::memcpy(p, e->in_.get() + e->begin_, n);
    e->begin_ += n;
    return static_cast<int>(n);
  }
  static int bio_write(BIO* b, const char* p, int size) {
    auto* e = static_cast<engine*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    e->out_.append(p, static_cast<std::size_t>(std::max(size, 0)));
    return size;
  }
  static long bio_ctrl(BIO* b, int cmd, long, void*) {
    auto* e = static_cast<engine*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH: return 1;
      case BIO_CTRL_PENDING: return static_cast<long>(e->end_ - e->begin_);
      case BIO_CTRL_WPENDING: return static_cast<long>(e->out_.size());
      case BIO_CTRL_EOF: return e->ended_ && e->begin_ == e->end_;
      default: return 0;
    }
  }
  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "coras tls");
      if (!made) throw std::bad_alloc();
      BIO_meth_set_read(made, bio_read);
      BIO_meth_set_write(made, bio_write);
      BIO_meth_set_ctrl(made, bio_ctrl);
      return made;
    }();
    return m;
  }

  SSL* ssl_;
  std::unique_ptr<char[]> in_;  // ciphertext from the socket; allocated on first use
  std::size_t begin_ = 0, end_ = 0;
  bool ended_ = false;  // the socket reached its end
  std::string out_;     // ciphertext to send
};

tls_stream::tls_stream(boost::beast::tcp_stream next, asio::ssl::context& ctx)
    : next_(std::move(next)), engine_(std::make_unique<engine>(ctx)) {}
tls_stream::tls_stream(tls_stream&&) noexcept = default;
tls_stream::~tls_stream() = default;

SSL* tls_stream::native_handle() noexcept { return engine_->ssl(); }

tls_stream::step_result tls_stream::step(kind k, asio::mutable_buffer in, asio::const_buffer out) {
  return engine_->step(k, in, out);
}
bool tls_stream::has_output() const noexcept { return engine_->has_output(); }
asio::const_buffer tls_stream::output() const noexcept { return engine_->output(); }
void tls_stream::output_sent() noexcept { engine_->output_sent(); }
asio::mutable_buffer tls_stream::input_space() noexcept { return engine_->input_space(); }
void tls_stream::input_received(std::size_t n) noexcept { engine_->input_received(n); }
void tls_stream::input_ended() noexcept { engine_->input_ended(); }

}  // namespace coras::http::detail

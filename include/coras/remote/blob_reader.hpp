// The reader that a fetch returns: the body of a blob or manifest, streamed,
// checked against its descriptor's size and digest as it goes.
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras/detail/initiate.hpp>
#include <coras/http/fields.hpp>

#include <boost/asio/buffer.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace coras::remote {

class blob_reader_impl;

/// A fetched body. Bytes are handed out as they arrive; the size is checked on
/// every read (a byte beyond the descriptor's size is never returned: the read
/// fails with `errc::size_mismatch`), and the digest once the last byte is in:
/// the read that reaches the end completes with `boost::asio::error::eof` only
/// when the content hashed to the descriptor's digest, and fails with
/// `errc::digest_mismatch` otherwise. So bytes are trusted only after `eof`;
/// callers that need only verified bytes use `repository::async_fetch_bytes`
/// or `async_fetch_to_file`, which hand nothing out before verification.
///
/// A blob's reader resumes by itself: when the connection breaks or times out
/// mid-body it asks for the rest (`Range: bytes=<offset>-`), checks the 206's
/// `Content-Range`, and carries on hashing, so the caller sees only a pause
/// (`repository_options::transfer` bounds the attempts). A registry that
/// ignores `Range` sends the whole blob again; the bytes already handed out
/// are dropped, never returned twice.
///
/// Movable, not copyable, not safe for concurrent use. The repository it came
/// from may be destroyed first; the HTTP client must outlive it. Destroying a
/// reader before the end closes its connection.
class blob_reader {
 public:
  blob_reader() noexcept;
  blob_reader(blob_reader&&) noexcept;
  blob_reader& operator=(blob_reader&&) noexcept;
  ~blob_reader();

  /// The descriptor the content is verified against.
  const descriptor& target() const noexcept;
  /// Body bytes handed out so far.
  std::uint64_t offset() const noexcept;
  /// Times the reader reopened the blob after a broken body.
  std::uint64_t resumes() const noexcept;
  /// The latest response's header fields.
  const http::fields& headers() const noexcept;
  /// Why the last read failed (filled on failure, cleared on success).
  const diagnostics& diag() const noexcept;

  /// Reads the next bytes into `buffer`; completes with the count, or with
  /// `eof` after the verified end. Handler `void(error_code, std::size_t)`,
  /// run on the HTTP client's executor. Errors: `errc::size_mismatch`,
  /// `errc::digest_mismatch`, connection errors, `errc::timeout`.
  /// Cancellation: terminal (the connection is closed).
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_some(boost::asio::mutable_buffer buffer, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code, std::size_t)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, boost::asio::mutable_buffer b) {
          read_some_start(impl, d, b, std::move(handler));
        },
        nullptr, buffer);
  }

  /// Reads the rest of the content into a string and verifies it; fails with
  /// `errc::size_limit_exceeded` when the descriptor's size is above `limit`
  /// (before reading anything). Handler `void(error_code, std::string)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_all(std::uint64_t limit, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code, std::string)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, std::uint64_t l) {
          read_all_start(impl, d, l, std::move(handler));
        },
        nullptr, limit);
  }

  /// Moves to byte `pos` of the content (an `io.ReadSeekCloser` in oras-go's range-resume fork),
  /// keeping the digest check: going forward reads and hashes the bytes in between without handing
  /// them out; going back reopens the blob (with `Range`) from the nearest hash state kept every 32
  /// MiB and rehashes from there. So `eof` still means the bytes of the last pass verified. Handler
  /// `void(error_code)`; `errc::invalid_argument` past the end.
  template <class Token = ::coras::default_completion_token_t>
  auto async_seek(std::uint64_t pos, Token&& token = {}) {
    return ::coras::detail::initiate<void(error_code)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, std::uint64_t p) {
          seek_start(impl, d, p, std::move(handler));
        },
        nullptr, pos);
  }

  /// Internal: coras's own layers read through the implementation object.
  explicit blob_reader(std::unique_ptr<blob_reader_impl> impl) noexcept;
  blob_reader_impl* impl() const noexcept { return impl_.get(); }

 private:
  static void read_some_start(blob_reader_impl* impl, diagnostics* d, boost::asio::mutable_buffer b,
                              boost::asio::any_completion_handler<void(error_code, std::size_t)> h);
  static void read_all_start(blob_reader_impl* impl, diagnostics* d, std::uint64_t limit,
                             boost::asio::any_completion_handler<void(error_code, std::string)> h);
  static void seek_start(blob_reader_impl* impl, diagnostics* d, std::uint64_t pos,
                         boost::asio::any_completion_handler<void(error_code)> h);
  std::unique_ptr<blob_reader_impl> impl_;
};

/// The reader as a request body (for pushing what it reads somewhere else):
/// its size is the descriptor's, and `verified_digest()` its digest, since
/// the reader fails its last read unless the content matched.
std::shared_ptr<byte_source> to_byte_source(blob_reader reader);

/// A descriptor and the reader of its content (what a fetch by reference gives).
struct fetched {
  descriptor desc;
  blob_reader body;
};

}  // namespace coras::remote

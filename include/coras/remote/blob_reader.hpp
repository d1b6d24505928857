/// @file
/// The reader that a fetch returns: the body of a blob or manifest, streamed,
/// checked against its descriptor's size and digest as it goes.
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
/// @par Calling convention
/// As the repository's (`repository`, "Calling convention"): every operation
/// comes in two overloads, one ending with the completion token and one
/// taking a `coras::diagnostics&` before it. The default token is
/// `coras::default_completion_token_t`: `co_await` gives the value and throws
/// `coras::error`, whose `what()` is the whole message, on failure. Any other
/// token (`as_tuple`, a callback, `deferred`) receives the `error_code`
/// alone; pass a `diagnostics&` to keep the message (filled on failure,
/// cleared on success). `diag()` is deprecated.
///
/// @par Handler signature
/// Given on each operation.
///
/// @par Object lifetimes
/// Movable, not copyable. Operations capture a pointer to the implementation
/// object, which stays put when the reader is moved: a deferred operation
/// made from a reader stays valid when the reader is moved. The reader (or
/// the one it was moved into) must not be destroyed before an operation
/// completes. The repository it came
/// from may be destroyed first; the HTTP client must outlive it. Destroying
/// a reader before the end closes its connection.
///
/// @par Executor
/// The work runs on the HTTP client's strand; handlers run on their
/// associated executor.
///
/// @par Per-operation cancellation
/// Terminal: the operation completes with
/// `boost::asio::error::operation_aborted` and the connection is closed (a
/// cancelled read is never resumed).
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: unsafe; one operation at a time.
class blob_reader {
 public:
  /// A reader of nothing; only assigning to it is useful.
  blob_reader() noexcept;
  /// Move constructor.
  blob_reader(blob_reader&&) noexcept;
  /// Move assignment.
  blob_reader& operator=(blob_reader&&) noexcept;
  /// Closes the connection when the content was not read to its end.
  ~blob_reader();

  /// The descriptor the content is verified against.
  const descriptor& target() const noexcept;
  /// Body bytes handed out so far.
  std::uint64_t offset() const noexcept;
  /// Times the reader reopened the blob after a broken body.
  std::uint64_t resumes() const noexcept;
  /// The latest response's header fields.
  const http::fields& headers() const noexcept;
  /// Why the last read without a `diagnostics&` and with a token other than
  /// the default failed (filled on failure, cleared on success). Deprecated:
  /// the reads take a `diagnostics&` as every other operation does, and the
  /// default token's exception carries the message.
  [[deprecated(
      "pass a coras::diagnostics& to the read, or use the default token")]] const diagnostics&
  diag() const noexcept;

  /// @{
  /// Reads the next bytes into `buffer`; completes with the count, or with
  /// `boost::asio::error::eof` after the verified end.
  ///
  /// @par Handler signature
  /// `void(error_code, std::size_t)`.
  ///
  /// @par Errors
  /// `boost::asio::error::eof` (the end, verified), `errc::size_mismatch`,
  /// `errc::digest_mismatch`, `errc::timeout`, `errc::invalid_response` (a
  /// wrong range on resume), connection errors.
  ///
  /// @par Object lifetimes
  /// The memory `buffer` points to must stay valid until completion.
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_some(boost::asio::mutable_buffer buffer, Token&& token = {}) {
    return read_some_op(buffer, nullptr, std::forward<Token>(token));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_some(boost::asio::mutable_buffer buffer, diagnostics& d, Token&& token = {}) {
    return read_some_op(buffer, &d, std::forward<Token>(token));
  }
  /// @}

  /// @{
  /// Reads the rest of the content into a string and verifies it.
  ///
  /// @par Handler signature
  /// `void(error_code, std::string)`.
  ///
  /// @par Errors
  /// `errc::size_limit_exceeded` when the descriptor's size is above `limit`
  /// (before reading anything), `errc::size_mismatch`,
  /// `errc::digest_mismatch`, and the errors of `async_read_some` other than
  /// `eof`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_all(std::uint64_t limit, Token&& token = {}) {
    return read_all_op(limit, nullptr, std::forward<Token>(token));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_read_all(std::uint64_t limit, diagnostics& d, Token&& token = {}) {
    return read_all_op(limit, &d, std::forward<Token>(token));
  }
  /// @}

  /// @{
  /// Moves to byte `pos` of the content (an `io.ReadSeekCloser` in oras-go's range-resume fork),
  /// keeping the digest check: going forward reads and hashes the bytes in between without handing
  /// them out; going back reopens the blob (with `Range`) from the nearest hash state kept every 32
  /// MiB and rehashes from there. So `eof` still means the bytes of the last pass verified.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::invalid_argument` past the end, and the errors of
  /// `async_read_some`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_seek(std::uint64_t pos, Token&& token = {}) {
    return seek_op(pos, nullptr, std::forward<Token>(token));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_seek(std::uint64_t pos, diagnostics& d, Token&& token = {}) {
    return seek_op(pos, &d, std::forward<Token>(token));
  }
  /// @}

  /// @cond INTERNAL
  /// Internal: coras's own layers read through the implementation object.
  explicit blob_reader(std::unique_ptr<blob_reader_impl> impl) noexcept;
  /// Internal: the implementation object.
  blob_reader_impl* impl() const noexcept { return impl_.get(); }
  /// @endcond

 private:
  template <class Token>
  auto read_some_op(boost::asio::mutable_buffer buffer, diagnostics* diag, Token&& token) {
    return ::coras::detail::initiate<void(error_code, std::size_t)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, boost::asio::mutable_buffer b) {
          read_some_start(impl, d, b, std::move(handler));
        },
        diag, buffer);
  }
  template <class Token>
  auto read_all_op(std::uint64_t limit, diagnostics* diag, Token&& token) {
    return ::coras::detail::initiate<void(error_code, std::string)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, std::uint64_t l) {
          read_all_start(impl, d, l, std::move(handler));
        },
        diag, limit);
  }
  template <class Token>
  auto seek_op(std::uint64_t pos, diagnostics* diag, Token&& token) {
    return ::coras::detail::initiate<void(error_code)>(
        std::forward<Token>(token),
        [impl = impl_.get()](diagnostics* d, auto handler, std::uint64_t p) {
          seek_start(impl, d, p, std::move(handler));
        },
        diag, pos);
  }

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
  descriptor desc;   ///< what was fetched (resolved from the reference)
  blob_reader body;  ///< its content, verified against `desc` as it is read
};

}  // namespace coras::remote

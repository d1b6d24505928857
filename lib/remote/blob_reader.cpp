#include "blob_reader_impl.hpp"

#include "detail/spawn.hpp"
#include "http/client_impl.hpp"
#include "remote/exchange.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cstring>

namespace coras::remote {

namespace asio = boost::asio;
using detail::protocol_error;

blob_reader_impl::blob_reader_impl(http::client client, http::response resp, descriptor target,
                                   std::string url)
    : client_(std::move(client)),
      resp_(std::move(resp)),
      target_(std::move(target)),
      url_(std::move(url)),
      hasher_(target_.digest.algorithm()) {}

blob_reader_impl::blob_reader_impl(http::client client, std::string bytes, http::fields headers,
                                   descriptor target, std::string url)
    : client_(std::move(client)),
      memory_(std::move(bytes)),
      memory_headers_(std::move(headers)),
      from_memory_(true),
      target_(std::move(target)),
      url_(std::move(url)),
      hasher_(target_.digest.algorithm()) {}

const http::fields& blob_reader_impl::headers() const noexcept {
  return from_memory_ ? memory_headers_ : resp_.headers();
}

// Up to `buffer.size()` body bytes; 0 at the end of the body.
asio::awaitable<std::size_t> blob_reader_impl::next(asio::mutable_buffer buffer) {
  if (from_memory_) {
    const auto n = std::min<std::uint64_t>(buffer.size(), memory_.size() - offset_);
    std::memcpy(buffer.data(), memory_.data() + offset_, n);
    co_return n;
  }
  if (resp_.body_done()) co_return 0;
  try {
    co_return co_await resp_.impl()->read_some(buffer);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::eof) throw;
  }
  co_return 0;
}

// At the descriptor's size: the body must end here, and hash to the digest.
asio::awaitable<void> blob_reader_impl::finish() {
  char extra;
  if (co_await next(asio::buffer(&extra, 1)) != 0)
    protocol_error("GET", url_,
                   "body is longer than the expected " + std::to_string(target_.size) + " bytes",
                   errc::size_mismatch);
  auto got = hasher_.finish();
  if (got != target_.digest)
    protocol_error(
        "GET", url_,
        "content digest " + got.str() + " does not match the expected " + target_.digest.str(),
        errc::digest_mismatch);
  verified_ = true;
}

asio::awaitable<std::size_t> blob_reader_impl::read_some(asio::mutable_buffer buffer) {
  if (verified_) throw boost::system::system_error(asio::error::eof);
  const auto size = static_cast<std::uint64_t>(target_.size);
  if (offset_ == size) {
    co_await finish();
    throw boost::system::system_error(asio::error::eof);
  }
  if (buffer.size() == 0) co_return 0;
  // Never ask for more than the descriptor allows, so an over-long body
  // cannot put bytes into the caller's buffer.
  buffer = asio::buffer(
      buffer, static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset_)));
  const auto n = co_await next(buffer);
  if (n == 0)
    protocol_error(
        "GET", url_,
        "body ended after " + std::to_string(offset_) + " of " + std::to_string(size) + " bytes",
        errc::size_mismatch);
  hasher_.update(std::span(static_cast<const std::byte*>(buffer.data()), n));
  offset_ += n;
  // The last piece is handed out only once the whole content verified.
  if (offset_ == size) co_await finish();
  co_return n;
}

asio::awaitable<std::string> blob_reader_impl::read_all(std::uint64_t limit) {
  const auto size = static_cast<std::uint64_t>(target_.size);
  if (size > limit)
    protocol_error("GET", url_,
                   "content of " + std::to_string(size) + " bytes exceeds the limit of " +
                       std::to_string(limit),
                   errc::size_limit_exceeded);
  std::string out;
  out.resize(size - offset_);
  std::size_t filled = 0;
  while (!verified_) {
    if (filled == out.size()) {
      if (offset_ == size) co_await finish();
      break;
    }
    filled += co_await read_some(asio::buffer(out.data() + filled, out.size() - filled));
  }
  co_return out;
}

// ---- the public handle ----

blob_reader::blob_reader() noexcept = default;
blob_reader::blob_reader(blob_reader&&) noexcept = default;
blob_reader& blob_reader::operator=(blob_reader&&) noexcept = default;
blob_reader::~blob_reader() = default;
blob_reader::blob_reader(std::unique_ptr<blob_reader_impl> impl) noexcept
    : impl_(std::move(impl)) {}

namespace {
const descriptor empty_descriptor{};
const http::fields empty_fields{};
const diagnostics empty_diagnostics{};

[[noreturn]] void no_reader() {
  throw coras::error(errc::invalid_response, "read on an empty blob_reader");
}
}  // namespace

const descriptor& blob_reader::target() const noexcept {
  return impl_ ? impl_->target() : empty_descriptor;
}
std::uint64_t blob_reader::offset() const noexcept { return impl_ ? impl_->offset() : 0; }
const http::fields& blob_reader::headers() const noexcept {
  return impl_ ? impl_->headers() : empty_fields;
}
const diagnostics& blob_reader::diag() const noexcept {
  return impl_ ? impl_->diag : empty_diagnostics;
}

void blob_reader::read_some_start(asio::mutable_buffer b,
                                  asio::any_completion_handler<void(error_code, std::size_t)> h) {
  if (!impl_) no_reader();
  auto* impl = impl_.get();
  coras::detail::spawn(impl->client().impl()->strand(), impl->read_some(b), std::move(h),
                       &impl->diag);
}

void blob_reader::read_all_start(std::uint64_t limit,
                                 asio::any_completion_handler<void(error_code, std::string)> h) {
  if (!impl_) no_reader();
  auto* impl = impl_.get();
  coras::detail::spawn(impl->client().impl()->strand(), impl->read_all(limit), std::move(h),
                       &impl->diag);
}

}  // namespace coras::remote

#include "blob_reader_impl.hpp"

#include "detail/offload.hpp"
#include "detail/spawn.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "remote/exchange.hpp"
#include "remote/protocol.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>

namespace coras::remote {

namespace asio = boost::asio;
using detail::protocol_error;

namespace {
// Reads at least this big are hashed on the work executor (when there is one);
// smaller ones cost less than the hop.
constexpr std::size_t offload_min = 64 * 1024;
// A read gathers this much when the caller's buffer has room for it.
constexpr std::size_t gather_min = 256 * 1024;
// A seek back restarts from the nearest hash state kept at this spacing.
constexpr std::uint64_t checkpoint_every = 32ull << 20;

std::string range_text(std::uint64_t first, std::uint64_t last) {
  return std::to_string(first) + "-" + std::to_string(last);
}
}  // namespace

blob_reader_impl::blob_reader_impl(blob_reader_setup setup)
    : client_(std::move(setup.client)),
      repo_(std::move(setup.repo)),
      target_(std::move(setup.target)),
      url_(std::move(setup.url)),
      offset_(setup.offset),
      end_(setup.end.value_or(static_cast<std::uint64_t>(target_.size))),
      hasher_(std::move(setup.hasher)) {
  // Offset 0 needs no checkpoint: a seek before the first one starts over
  // with a fresh digester (most readers, manifests above all, never seek).
  if (hasher_ && offset_ > 0) checkpoints_.emplace_back(offset_, hasher_->state_copy());
}

asio::awaitable<std::unique_ptr<blob_reader_impl>> blob_reader_impl::open(blob_reader_setup setup) {
  // The size may come from the network: checked before it plans a range or
  // sizes a read_all buffer.
  std::string why;
  auto checked = detail::checked_blob_size(setup.target.size,
                                           setup.repo ? setup.repo->options.max_blob_bytes : 0,
                                           "blob " + setup.target.digest.str(), &why);
  if (!checked) throw coras::error(checked.error(), why);
  const auto size = *checked;
  const auto end = setup.end.value_or(size);
  if (setup.offset > end || end > size)
    throw coras::error(errc::invalid_argument, "range " + range_text(setup.offset, end) +
                                                   " is outside the blob's " +
                                                   std::to_string(size) + " bytes");
  if (setup.hasher && setup.hasher->size() != setup.offset)
    throw coras::error(errc::invalid_argument,
                       "the prefix hash covers " + std::to_string(setup.hasher->size()) +
                           " bytes, not the start offset " + std::to_string(setup.offset));
  std::unique_ptr<blob_reader_impl> reader(new blob_reader_impl(std::move(setup)));
  if (reader->offset_ < reader->end_ || reader->offset_ == 0) co_await reader->connect();
  co_return reader;
}

blob_reader_impl::blob_reader_impl(blob_reader_setup setup, http::response resp)
    : blob_reader_impl(std::move(setup)) {
  resp_ = std::move(resp);
  connected_ = true;
}

blob_reader_impl::blob_reader_impl(http::client client, std::string bytes, http::fields headers,
                                   descriptor target, std::string url)
    : client_(std::move(client)),
      target_(std::move(target)),
      url_(std::move(url)),
      end_(static_cast<std::uint64_t>(target_.size)),
      hasher_(digester(target_.digest.algorithm())),
      memory_(std::move(bytes)),
      memory_headers_(std::move(headers)),
      from_memory_(true) {}

const http::fields& blob_reader_impl::headers() const noexcept {
  return from_memory_ ? memory_headers_ : resp_.headers();
}

// GET the blob from offset_ (to end_), and check that the answer is that range.
asio::awaitable<void> blob_reader_impl::connect() {
  connected_ = false;
  resp_ = http::response();
  const auto size = static_cast<std::uint64_t>(target_.size);
  auto req = detail::make_request(*repo_, "GET", url_);
  const bool ranged = (offset_ > 0 || end_ < size) && !ranges_ignored_;
  if (ranged) req.headers.set("Range", "bytes=" + range_text(offset_, end_ - 1));
  auto resp = co_await detail::send(repo_->client, repo_->options, std::move(req));
  const auto status = resp.status();
  if (status == 206 && ranged) {
    auto header = resp.headers().get("Content-Range").value_or("");
    auto r = http::grammar::parse_content_range(header);
    if (!r || r->first != offset_ || r->last != end_ - 1 || (r->total && *r->total != size))
      protocol_error("GET", url_,
                     "206 with Content-Range \"" + std::string(header) + "\" for the range bytes " +
                         range_text(offset_, end_ - 1) + "/" + std::to_string(size));
    if (auto n = resp.content_length(); n && *n != end_ - offset_)
      protocol_error("GET", url_, "206 with a Content-Length that is not its range's",
                     errc::size_mismatch);
    skip_ = 0;
  } else if (status == 200) {
    if (auto n = resp.content_length(); n && *n != size)
      protocol_error("GET", url_, "mismatch Content-Length", errc::size_mismatch);
    if (ranged) {
      // The registry ignored Range: the whole blob comes, and the bytes
      // before offset_ are dropped (never handed out twice).
      if (end_ < size)  // a segment of a parallel download: pointless without ranges
        throw coras::error(errc::unsupported, "GET \"" + url_ + "\": Range requests are ignored");
      ranges_ignored_ = true;
    }
    skip_ = offset_;
  } else {
    co_await detail::raise_error(resp, "GET", url_);
  }
  resp_ = std::move(resp);
  connected_ = true;
}

// Body bytes of the current response; `ended` when it has no more.
asio::awaitable<std::size_t> blob_reader_impl::receive(asio::mutable_buffer buffer, bool& ended) {
  ended = false;
  if (from_memory_) {
    const auto n = std::min<std::uint64_t>(buffer.size(), memory_.size() - offset_);
    std::memcpy(buffer.data(), memory_.data() + offset_, n);
    ended = n == 0;
    co_return n;
  }
  if (!connected_ || resp_.body_done()) {
    ended = true;
    co_return 0;
  }
  std::size_t n = 0;
  error_code failure;
  try {
    n = co_await resp_.impl()->read_some(buffer);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::eof) throw;
    failure = e.code();
  }
  ended = failure || n == 0;
  co_return n;
}

bool blob_reader_impl::resumable(const std::exception_ptr& e) const {
  if (!repo_ || failures_ >= repo_->options.transfer.max_resumes) return false;
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& x) {
    const auto code = x.code();
    if (code == asio::error::operation_aborted) return false;  // the caller cancelled
    if (code.category() == coras_category()) return code == errc::timeout;
    return code.category() != registry_category();  // connection, TLS, HTTP framing
  } catch (...) {
  }
  return false;
}

// At least one byte at offset_ into `buffer`: the current response's, or a
// new one's when the body broke off (bounded by transfer.max_resumes).
asio::awaitable<std::size_t> blob_reader_impl::fill(asio::mutable_buffer buffer) {
  for (;;) {
    std::exception_ptr failure;
    std::size_t n = 0;
    bool ended = false;
    try {
      n = co_await receive(buffer, ended);
    } catch (...) {
      failure = std::current_exception();
    }
    if (n > 0 && skip_ > 0) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, skip_));
      skip_ -= k;
      n -= k;
      std::memmove(buffer.data(), static_cast<char*>(buffer.data()) + k, n);
      if (n == 0) continue;
    }
    if (n > 0) {
      failures_ = 0;
      co_return n;
    }
    if (!failure)
      failure = std::make_exception_ptr(
          coras::error(errc::size_mismatch, "GET \"" + strip_credentials(url_) +
                                                "\": body ended after " + std::to_string(offset_) +
                                                " of " + std::to_string(end_) + " bytes"));
    if (!resumable(failure)) std::rethrow_exception(failure);
    // Resume: immediately the first time, then with a doubling pause.
    if (failures_ > 0) {
      auto pause = repo_->options.transfer.resume_backoff * (1 << std::min(failures_ - 1, 8));
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(
          std::min<std::chrono::steady_clock::duration>(pause, std::chrono::seconds(2)));
      co_await timer.async_wait(asio::use_awaitable);
    }
    ++failures_;
    ++resumes_;
    failure = nullptr;
    try {
      co_await connect();
    } catch (...) {
      failure = std::current_exception();
    }
    // A reconnect that fails for a transient reason counts as one more
    // failure on the next turn; one that fails for a protocol reason ends it.
    if (failure && !resumable(failure)) std::rethrow_exception(failure);
  }
}

asio::awaitable<void> blob_reader_impl::hash(const void* data, std::size_t n) {
  if (!hasher_ || n == 0) co_return;
  std::span bytes(static_cast<const std::byte*>(data), n);
  const auto& work = client_.options().work_executor;
  if (work && n >= offload_min)
    co_await coras::detail::offload(work, [this, bytes] { hasher_->update(bytes); });
  else
    hasher_->update(bytes);
}

// At end_: the body must end here, and (for a verifying reader) the content
// must hash to the digest.
asio::awaitable<void> blob_reader_impl::finish() {
  if (!from_memory_ && connected_ && !resp_.body_done()) {
    char extra;
    bool ended = false;
    std::size_t n = 0;
    try {
      n = co_await receive(asio::buffer(&extra, 1), ended);
    } catch (const boost::system::system_error&) {
      // Every expected byte is in; a connection that breaks now loses nothing.
    }
    if (n != 0)
      protocol_error("GET", url_,
                     "body is longer than the expected " + std::to_string(end_) + " bytes",
                     errc::size_mismatch);
  }
  if (hasher_) {
    auto got = hasher_->state_copy().finish();
    if (got != target_.digest)
      protocol_error(
          "GET", url_,
          "content digest " + got.str() + " does not match the expected " + target_.digest.str(),
          errc::digest_mismatch);
  }
  done_ = true;
}

asio::awaitable<std::size_t> blob_reader_impl::read_some(asio::mutable_buffer buffer) {
  if (done_) throw boost::system::system_error(asio::error::eof);
  if (offset_ == end_) {
    co_await finish();
    throw boost::system::system_error(asio::error::eof);
  }
  if (buffer.size() == 0) co_return 0;
  // Never ask for more than the range holds, so an over-long body cannot put
  // bytes into the caller's buffer.
  buffer = asio::buffer(
      buffer, static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end_ - offset_)));
  // Bulk readers pass big buffers: gather at least `gather_min` bytes (or
  // what the buffer holds) per call, so that hashing, hops to the work
  // executor and the caller's own per-read work happen per 256 KiB rather
  // than per socket read.
  const auto want = std::min(buffer.size(), gather_min);
  // offset_ moves with every piece: a resume in between must ask for the
  // bytes after those already gathered.
  std::size_t n = 0;
  do {
    const auto k = co_await fill(asio::buffer(buffer + n));
    n += k;
    offset_ += k;
  } while (n < want && offset_ < end_);
  co_await hash(buffer.data(), n);
  const auto last_checkpoint = checkpoints_.empty() ? 0 : checkpoints_.back().first;
  if (hasher_ && offset_ - last_checkpoint >= checkpoint_every)
    checkpoints_.emplace_back(offset_, hasher_->state_copy());
  // The last piece is handed out only once the whole content verified.
  if (offset_ == end_) co_await finish();
  co_return n;
}

asio::awaitable<std::string> blob_reader_impl::read_all(std::uint64_t limit) {
  const auto size = end_;
  if (size > limit)
    protocol_error("GET", url_,
                   "content of " + std::to_string(size) + " bytes exceeds the limit of " +
                       std::to_string(limit),
                   errc::size_limit_exceeded);
  std::string out;
  out.resize(size - offset_);
  std::size_t filled = 0;
  while (!done_) {
    if (filled == out.size()) {
      if (offset_ == end_) co_await finish();
      break;
    }
    filled += co_await read_some(asio::buffer(out.data() + filled, out.size() - filled));
  }
  co_return out;
}

std::optional<std::string> blob_reader_impl::take_verified(std::uint64_t limit) {
  if (!from_memory_ || done_ || offset_ != 0 || !hasher_ || hasher_->size() != 0)
    return std::nullopt;
  if (end_ > limit || memory_.size() != end_) return std::nullopt;
  // The reader's own (fresh) digester: no second one for this read.
  hasher_->update(std::string_view(memory_));
  if (!hasher_->finish_matches(target_.digest)) {
    hasher_.emplace(target_.digest.algorithm());  // the coroutine reads (and words) it again
    return std::nullopt;
  }
  // Done, its digester finished: nothing hashes again unless a seek back
  // (which makes a fresh one).
  offset_ = end_;
  done_ = true;
  return memory_;  // a copy: a seek back serves it again
}

asio::awaitable<void> blob_reader_impl::seek(std::uint64_t pos) {
  if (!hasher_) throw coras::error(errc::unsupported, "seek on a raw range reader");
  if (pos > end_)
    throw coras::error(
        errc::invalid_argument,
        "seek to " + std::to_string(pos) + " past the end (" + std::to_string(end_) + " bytes)");
  if (pos < offset_ || (done_ && pos < end_)) {
    // Back to the nearest hash state at or before pos; the bytes from there
    // are fetched (and hashed) again.
    if (!from_memory_ && !repo_)
      throw coras::error(errc::unsupported, "this reader cannot reopen its content");
    auto it = std::upper_bound(checkpoints_.begin(), checkpoints_.end(), pos,
                               [](std::uint64_t p, const auto& c) { return p < c.first; });
    if (it == checkpoints_.begin()) {
      hasher_.emplace(target_.digest.algorithm());
      offset_ = 0;
    } else {
      hasher_ = std::prev(it)->second.state_copy();
      offset_ = std::prev(it)->first;
    }
    done_ = false;
    failures_ = 0;
    if (!from_memory_) co_await connect();
  }
  // Forward: read and hash what lies between, handing none of it out.
  std::vector<char> scratch(
      static_cast<std::size_t>(std::min<std::uint64_t>(pos - offset_, 1 << 20)));
  while (offset_ < pos)
    co_await read_some(asio::buffer(
        scratch.data(),
        static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), pos - offset_))));
}

// ---- the public handle ----

namespace {
class reader_body final : public byte_source {
 public:
  explicit reader_body(blob_reader r) : reader_(std::move(r)) {}
  std::optional<std::uint64_t> size() const override {
    return static_cast<std::uint64_t>(reader_.target().size);
  }
  std::optional<digest> verified_digest() const override { return reader_.target().digest; }
  asio::awaitable<std::size_t> read(asio::mutable_buffer b) override {
    // Through the public operation: the reader's connection belongs to the
    // client's strand, and the caller may run elsewhere.
    diagnostics d;
    auto [ec, n] = co_await reader_.async_read_some(b, d, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw coras::error(ec, d.message());
    co_return n;
  }

 private:
  blob_reader reader_;
};
}  // namespace

std::shared_ptr<byte_source> to_byte_source(blob_reader reader) {
  return std::make_shared<reader_body>(std::move(reader));
}

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
std::uint64_t blob_reader::resumes() const noexcept { return impl_ ? impl_->resumes() : 0; }
const http::fields& blob_reader::headers() const noexcept {
  return impl_ ? impl_->headers() : empty_fields;
}
const diagnostics& blob_reader::diag() const noexcept {
  return impl_ ? impl_->diag : empty_diagnostics;
}

// `d`: the caller's diagnostics (a diagnostics& overload or the default
// token); else the reader's own, which the deprecated diag() reports.
void blob_reader::read_some_start(blob_reader_impl* impl, diagnostics* d, asio::mutable_buffer b,
                                  asio::any_completion_handler<void(error_code, std::size_t)> h) {
  if (!impl) no_reader();
  coras::detail::spawn(impl->client().impl()->strand(), impl->read_some(b), std::move(h),
                       d ? d : &impl->diag);
}

void blob_reader::read_all_start(blob_reader_impl* impl, diagnostics* d, std::uint64_t limit,
                                 asio::any_completion_handler<void(error_code, std::string)> h) {
  if (!impl) no_reader();
  // A small manifest read in its operation: verified here, completed
  // without a coroutine. Anything else (and any failure) takes the strand.
  if (auto bytes = impl->take_verified(limit)) {
    coras::detail::settle(nullptr, d ? d : &impl->diag);
    // Posted, as a completion must not run inside its initiation, to the
    // handler's own executor: straight to the io_context it holds (work
    // counted there by the post), else through the strand.
    auto ex = asio::get_associated_executor(h, impl->client().impl()->completion_strand());
    auto complete = [h = std::move(h), b = std::move(*bytes)]() mutable {
      std::move(h)(error_code(), std::move(b));
    };
    using io_executor = asio::io_context::executor_type;
    if (const auto* io = ex.target<io_executor>())
      asio::post(*io, std::move(complete));
    else if (const auto* s = ex.target<asio::strand<io_executor>>())
      asio::post(*s, std::move(complete));
    else
      asio::post(impl->client().impl()->strand(),
                 asio::bind_executor(std::move(ex), std::move(complete)));
    return;
  }
  coras::detail::spawn(impl->client().impl()->strand(), impl->read_all(limit), std::move(h),
                       d ? d : &impl->diag);
}

void blob_reader::seek_start(blob_reader_impl* impl, diagnostics* d, std::uint64_t pos,
                             asio::any_completion_handler<void(error_code)> h) {
  if (!impl) no_reader();
  coras::detail::spawn(impl->client().impl()->strand(), impl->seek(pos), std::move(h),
                       d ? d : &impl->diag);
}

}  // namespace coras::remote

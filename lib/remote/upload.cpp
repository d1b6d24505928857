// Blob uploads (the seed's Push and completePushAfterInitialPost), made
// resumable: POST opens a session; the content goes up in one PUT, or in
// PATCH chunks above a size threshold; when a connection breaks, the
// session's status (GET on its URL) says how much the registry holds, and
// the upload continues from there, or starts over only if the registry lost
// the session.
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "remote/protocol.hpp"
#include "stores.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coras::remote::detail {

namespace asio = boost::asio;

namespace {

// A body whose length is known only from the descriptor: it reports that
// length (so the upload has a Content-Length) and fails the request when the
// source gives more or fewer bytes.
class sized_body final : public byte_source {
 public:
  sized_body(std::shared_ptr<byte_source> inner, std::uint64_t size)
      : inner_(std::move(inner)), size_(size) {}
  std::optional<std::uint64_t> size() const override { return size_; }
  awaitable<std::size_t> read(asio::mutable_buffer b) override {
    auto n = co_await inner_->read(b);
    sent_ += n;
    if (sent_ > size_ || (n == 0 && b.size() > 0 && sent_ != size_))
      throw coras::error(errc::size_mismatch,
                         "content is " + std::string(sent_ > size_ ? "longer" : "shorter") +
                             " than the expected " + std::to_string(size_) + " bytes");
    co_return n;
  }
  bool rewind() override { return seek(0); }
  bool seek(std::uint64_t offset) override {
    if (!inner_->seek(offset)) return false;
    sent_ = offset;
    return true;
  }

 private:
  std::shared_ptr<byte_source> inner_;
  std::uint64_t size_;
  std::uint64_t sent_ = 0;
};

// `length` bytes of `inner` from `start`, where `inner` stands: the body of
// one PATCH (or of the PUT that sends the rest).
class window_body final : public byte_source {
 public:
  window_body(std::shared_ptr<byte_source> inner, std::uint64_t start, std::uint64_t length)
      : inner_(std::move(inner)), start_(start), length_(length) {}
  std::optional<std::uint64_t> size() const override { return length_; }
  awaitable<std::size_t> read(asio::mutable_buffer b) override {
    const auto left = length_ - done_;
    if (left == 0) co_return 0;
    b = asio::buffer(b, static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), left)));
    auto n = co_await inner_->read(b);
    if (n == 0 && b.size() > 0)
      throw coras::error(errc::size_mismatch, "content ended before the expected size");
    done_ += n;
    co_return n;
  }
  bool rewind() override {
    if (!inner_->seek(start_)) return false;
    done_ = 0;
    return true;
  }

 private:
  std::shared_ptr<byte_source> inner_;
  std::uint64_t start_, length_, done_ = 0;
};

// An open upload session: its newest URL (each answer may move it) and the
// bytes the registry holds.
struct session {
  std::string location;
  std::uint64_t offset = 0;
};

// Reads the session URL out of an answer (POST, PATCH or status GET).
void follow_location(session& ses, const http::response& resp, std::string_view method,
                     std::string_view url) {
  std::string why;
  auto location = upload_location(resp.url(), resp.headers().get("Location").value_or(""), &why);
  if (!location) protocol_error(method, url, why);
  ses.location = std::move(*location);
}

// `a` other than sha256 is named in the POST (distribution-spec
// `digest-algorithm=`), so that a registry can hash with it as bytes arrive.
awaitable<session> open_session(const state_ptr& s, digest_algorithm a) {
  auto url = s->base + "blobs/uploads/" + digest_algorithm_query(a);
  auto resp = co_await send(s->client, s->options, make_request(*s, "POST", url));
  if (resp.status() != 202) co_await raise_error(resp, "POST", url);
  co_await resp.impl()->discard();
  session ses;
  follow_location(ses, resp, "POST", url);
  co_return ses;
}

// The registry's count of received bytes from an upload `Range: 0-<last>`.
std::optional<std::uint64_t> received(const http::response& resp) {
  auto header = resp.headers().get("Range");
  if (!header) return std::nullopt;
  auto r = http::grammar::parse_content_range(*header);
  if (!r || r->first != 0) return std::nullopt;
  // `0-0` is what distribution says for an empty session as well as for one
  // byte; reading it as empty is safe: a wrong guess ends in a digest error
  // at the PUT, and the upload then starts over.
  return r->last == 0 ? 0 : r->last + 1;
}

awaitable<void> send_chunk(const state_ptr& s, session& ses,
                           const std::shared_ptr<byte_source>& content, std::uint64_t length) {
  auto req = make_request(*s, "PATCH", ses.location);
  req.headers.set("Content-Type", "application/octet-stream");
  req.headers.set("Content-Range",
                  std::to_string(ses.offset) + "-" + std::to_string(ses.offset + length - 1));
  req.body = std::make_shared<window_body>(content, ses.offset, length);
  req.retryable = false;  // a broken chunk is resumed from the session's status
  const auto url = req.url;
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 202) co_await raise_error(resp, "PATCH", url);
  co_await resp.impl()->discard();
  follow_location(ses, resp, "PATCH", url);
  ses.offset = received(resp).value_or(ses.offset + length);
}

// The PUT that completes the session, carrying the bytes not sent yet.
awaitable<void> complete(const state_ptr& s, session& ses, const descriptor& expected,
                         const std::shared_ptr<byte_source>& content) {
  const auto size = static_cast<std::uint64_t>(expected.size);
  auto req = make_request(*s, "PUT", ses.location);
  req.url += (req.url.find('?') == std::string::npos ? "?" : "&");
  req.url += "digest=" + query_escape(expected.digest.str());
  // The expected media type is not sent: the API wants an octet stream.
  req.headers.set("Content-Type", "application/octet-stream");
  if (ses.offset < size)
    req.body = std::make_shared<window_body>(content, ses.offset, size - ses.offset);
  else
    req.body = coras::memory_source(std::string());
  req.retryable = false;
  const auto url = req.url;
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 201) co_await raise_error(resp, "PUT", url);
  verify_content_digest(resp, "PUT", url, expected.digest);
  co_await resp.impl()->discard();
}

// Asks the registry how much of the session it holds; false when it has no
// such session any more.
awaitable<bool> query(const state_ptr& s, session& ses) {
  auto url = ses.location;
  auto resp = co_await send(s->client, s->options, make_request(*s, "GET", url));
  if (resp.status() == 404) {
    co_await resp.impl()->discard();
    co_return false;
  }
  if (resp.status() != 204) co_await raise_error(resp, "GET", url);
  co_await resp.impl()->discard();
  auto n = received(resp);
  if (!n) protocol_error("GET", url, "upload status without a usable Range header");
  follow_location(ses, resp, "GET", url);
  ses.offset = *n;
  co_return true;
}

// A connection, TLS or HTTP framing failure (not a cancellation).
bool is_transport(const error_code& code) {
  return code != asio::error::operation_aborted && code.category() != coras_category() &&
         code.category() != registry_category();
}

// Worth asking the session's status and going on: the connection broke or
// timed out, or the registry failed or lost the session.
bool resumable(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const coras::error& x) {
    if (x.code() == errc::timeout || x.code() == errc::not_found) return true;
    if (auto* r = x.registry()) return r->status >= 500;
    return is_transport(x.code());
  } catch (const boost::system::system_error& x) {
    return is_transport(x.code());
  } catch (...) {
  }
  return false;
}

bool digest_refused(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const coras::error& x) {
    if (auto* r = x.registry())
      for (const auto& item : r->errors)
        if (item.code == "DIGEST_INVALID") return true;
  } catch (...) {
  }
  return false;
}

awaitable<void> upload(state_ptr s, session ses, descriptor expected,
                       std::shared_ptr<byte_source> content) {
  const auto size = static_cast<std::uint64_t>(expected.size);
  const auto& opt = s->options.transfer;
  const bool chunked =
      opt.chunk_size > 0 && (opt.chunked_threshold == 0 || size >= opt.chunked_threshold);
  int failures = 0;
  bool resumed = false, restarted = false;
  for (;;) {
    const auto before = ses.offset;
    std::exception_ptr failure;
    try {
      if (chunked)
        while (ses.offset < size)
          co_await send_chunk(s, ses, content, std::min(opt.chunk_size, size - ses.offset));
      co_await complete(s, ses, expected, content);
      co_return;
    } catch (...) {
      failure = std::current_exception();
    }
    if (ses.offset > before) failures = 0;  // progress resets the count
    // A resumed session whose result does not hash right is started over once
    // (the status was ambiguous, e.g. `0-0`).
    const bool start_over = resumed && !restarted && digest_refused(failure);
    if (!start_over && (!resumable(failure) || failures >= opt.max_resumes))
      std::rethrow_exception(failure);
    if (failures > 0) {
      auto pause = opt.resume_backoff * (1 << std::min(failures - 1, 8));
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(
          std::min<std::chrono::steady_clock::duration>(pause, std::chrono::seconds(2)));
      co_await timer.async_wait(asio::use_awaitable);
    }
    ++failures;
    bool alive = false;
    if (!start_over) {
      failure = nullptr;
      try {
        alive = co_await query(s, ses);
      } catch (...) {
        failure = std::current_exception();
      }
      if (failure) {
        if (!resumable(failure)) std::rethrow_exception(failure);
        continue;  // ask again on the next turn
      }
    }
    if (alive && content->seek(ses.offset)) {
      resumed = true;
      continue;
    }
    // The registry lost the session (or the content cannot continue from
    // where it stands): a new session from byte 0.
    if (!content->seek(0))
      throw coras::error(errc::unsupported, "the upload of " + expected.digest.str() +
                                                " broke off and its content cannot be read again");
    restarted = resumed;
    ses = co_await open_session(s, expected.digest.algorithm());
  }
}

}  // namespace

std::shared_ptr<byte_source> upload_body(std::shared_ptr<byte_source> content,
                                         const descriptor& expected) {
  if (!content) throw coras::error(errc::invalid_response, "no content to push");
  const auto want = static_cast<std::uint64_t>(expected.size);
  if (auto n = content->size()) {
    if (*n != want)
      throw coras::error(errc::size_mismatch, "mismatch content length " + std::to_string(*n) +
                                                  ": expect " + std::to_string(want));
    return content;
  }
  return std::make_shared<sized_body>(std::move(content), want);
}

awaitable<void> push_blob(state_ptr s, descriptor expected, std::shared_ptr<byte_source> content) {
  // Checked before the POST so that a wrong size opens no upload session.
  content = upload_body(std::move(content), expected);
  auto ses = co_await open_session(s, expected.digest.algorithm());
  co_await upload(s, std::move(ses), std::move(expected), std::move(content));
}

awaitable<void> upload_to_session(state_ptr s, std::string post_url, http::response& post,
                                  descriptor expected, std::shared_ptr<byte_source> content) {
  co_await post.impl()->discard();
  session ses;
  follow_location(ses, post, "POST", post_url);
  content = upload_body(std::move(content), expected);
  co_await upload(s, std::move(ses), std::move(expected), std::move(content));
}

}  // namespace coras::remote::detail

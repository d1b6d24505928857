// The send loop: the per-origin admission gate (admission.cpp), the
// authorizer hook, and redirects and retries as decided by
// detail::next_step (protocol.cpp); plus the public shims. Beast-free: one
// request's exchange is in exchange.cpp.
#include "admission.hpp"
#include "authorizer.hpp"
#include "client_impl.hpp"
#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "protocol.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <random>

namespace coras::http {
namespace asio = boost::asio;

// ---------------------------------------------------------------- send

namespace {
// The request gate's key: the URL up to its path ("scheme://authority"), as
// written; "" when it has no "://" (send_plain refuses it). Not the parsed
// origin: nothing is allocated, and two spellings of one origin counting
// apart only loosen a bound that the connection pool keeps exactly.
std::string_view origin_key(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  return url.substr(0, url.find_first_of("/?#", scheme_end + 3));
}
}  // namespace

// Not a coroutine when the gate has room: the place taken here goes into
// send_plain's (or the authorizer's) frame, the only one.
asio::awaitable<response> client_impl::send(request req) {
  const auto limit = options_.max_connections_per_origin;
  const auto key = origin_key(req.url);
  if (key.empty() || limit == 0) return authorized(std::move(req), std::nullopt);
  auto& gate = admission_.gate_for(key);
  if (!admission_.try_enter(gate, limit)) return send_when_admitted(std::move(req), gate, limit);
  return authorized(std::move(req), detail::admission::ticket(&admission_, &gate));
}

// The waiting coroutine (and its frame) only when the gate is full.
asio::awaitable<response> client_impl::send_when_admitted(request req,
                                                          detail::admission::gate& gate,
                                                          std::size_t limit) {
  auto place = co_await admission_.enter(gate, limit);
  co_return co_await authorized(std::move(req), std::move(place));
}

namespace {
// Runs `op` with `place` held until it returns.
asio::awaitable<response> holding([[maybe_unused]] std::optional<detail::admission::ticket> place,
                                  asio::awaitable<response> op) {
  co_return co_await std::move(op);
}
}  // namespace

// Not a coroutine without an authorizer: send_plain's frame is the only one.
asio::awaitable<response> client_impl::authorized(request req,
                                                  std::optional<detail::admission::ticket> place) {
  if (!options_.auth) return send_plain(std::move(req), std::move(place));
  if (!place) return options_.auth->send(*this, std::move(req));
  return holding(std::move(place), options_.auth->send(*this, std::move(req)));
}

namespace {
// The parts of `url`; invalid_reference when it has none.
detail::split_url_result split_or_throw(const std::string& url) {
  std::string why;
  auto parts = detail::split_url(url, &why);
  if (!parts)
    throw error(errc::invalid_reference,
                "cannot send to \"" + strip_credentials(url) + "\": " + why);
  return std::move(*parts);
}
}  // namespace

// Every local of a coroutine lives in its frame (GCC keeps them all): what
// is needed only between two suspensions is worked out in the functions
// above and in next_step, so that the frame stays under 1 KiB, where the
// allocator's per-thread caches (Asio's and malloc's) still serve it.
asio::awaitable<response> client_impl::send_plain(
    request req, [[maybe_unused]] std::optional<detail::admission::ticket> place) {
  const auto& opt = options_;
  std::string first_url;  // set at the first redirect, for the error that says where it began
  // A body that cannot be rewound is sent once: no retry, no 307/308 replay.
  const bool replayable = !req.body || req.body->rewind();
  const bool retryable = req.retryable.value_or(detail::is_idempotent(req.method)) && replayable;
  int redirects = 0;
  int attempt = 0;
  // A pooled connection the server had closed while it sat idle costs one
  // resend at once, not a retry (its wait, its count), as Go's transport
  // does; once a request: a server that drops every reused connection is
  // then retried as any failing server.
  bool stale_resent = false;
  auto self = shared_from_this();  // keeps the pool alive while this runs

  for (;;) {
    const auto parts = split_or_throw(req.url);
    response resp;
    enum class resend { no, now, after_backoff } again = resend::no;
    try {
      resp = co_await detail::exchange(
          *this, parts.origin, parts.target, req.url, req.method, req.headers, req.body.get(),
          retryable && (!stale_resent || attempt < opt.retry.max_retries));
    } catch (const detail::connection_failure& e) {
      if (retryable && e.stale && !stale_resent) {
        stale_resent = true;
        again = resend::now;
      } else if (retryable && attempt < opt.retry.max_retries) {
        again = resend::after_backoff;
      } else {
        throw error(e.code(), e.what());
      }
    }
    if (again != resend::no) {  // (no co_await inside a catch block)
      if (again == resend::after_backoff)
        co_await sleep(detail::backoff(opt.retry, attempt++, random01()));
      if (req.body) req.body->rewind();
      continue;
    }

    if (opt.on_warning) detail::report_warnings(opt.on_warning, resp.headers(), req.url);
    auto step = next_step_for(resp, req, redirects, attempt, retryable);
    switch (step.what) {
      case detail::send_step::action::deliver:
        resp.impl()->url_ = std::move(req.url);  // the last use of the URL
        co_return resp;
      case detail::send_step::action::fail:
        throw error(step.error,
                    step.error == errc::too_many_redirects
                        ? step.why + " from " + strip_credentials(redirects ? first_url : req.url)
                        : step.why);
      case detail::send_step::action::redirect:
        co_await resp.impl()->discard();
        if (redirects++ == 0) first_url = req.url;
        if (!step.redirect.keep_body) {
          req.body.reset();
          req.headers.erase("Content-Type");
          req.headers.erase("Content-Length");
        }
        if (step.redirect.drop_authorization) {
          req.headers.erase("Authorization");
          req.headers.erase("Proxy-Authorization");
          req.headers.erase("Cookie");
        }
        req.method = std::move(step.redirect.method);
        req.url = std::move(step.redirect.url);
        continue;
      case detail::send_step::action::retry:
        ++attempt;
        co_await resp.impl()->discard();
        co_await sleep(step.wait);
        if (req.body) req.body->rewind();
        continue;
    }
  }
}

detail::send_step client_impl::next_step_for(const response& resp, const request& req,
                                             int redirects, int attempt, bool retryable) {
  detail::send_state st;
  st.status = resp.status();
  st.location = resp.headers().get("Location");
  st.retry_after = resp.headers().get("Retry-After");
  st.url = req.url;
  st.method = req.method;
  st.follow_redirects = req.follow_redirects;
  st.redirects = redirects;
  st.attempt = attempt;
  st.retryable = retryable;
  st.carries_credentials = req.carries_credentials;
  if (req.body) st.rewind_body = [&req] { return req.body->rewind(); };
  return detail::next_step(st, options_.max_redirects, options_.retry, random01(),
                           std::chrono::system_clock::now());
}

double client_impl::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

asio::awaitable<void> client_impl::sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// ---------------------------------------------------------------- public shims

client::client(executor_type executor, client_options options)
    : impl_(std::make_shared<client_impl>(std::move(executor), std::move(options))) {}

client::executor_type client::get_executor() const noexcept { return impl_->strand(); }
const client_options& client::options() const noexcept { return impl_->options(); }
client_stats client::stats() const { return impl_->stats(); }

namespace {
// A caller's request, as a coroutine of its own: client_impl::send takes the
// request gate's place at once (it is not a coroutine), and the gate lives
// on the strand, where this runs, not in the caller's initiating call.
asio::awaitable<response> send_on_strand(std::shared_ptr<client_impl> impl, request req) {
  co_return co_await impl->send(std::move(req));
}
}  // namespace

void client::send_start(std::shared_ptr<client_impl> impl, diagnostics* d, request req,
                        asio::any_completion_handler<void(error_code, response)> h) {
  const auto strand = impl->strand();
  coras::detail::spawn(strand, send_on_strand(std::move(impl), std::move(req)), std::move(h), d);
}

void response::read_some_start(response_impl* impl, diagnostics* d, asio::mutable_buffer b,
                               asio::any_completion_handler<void(error_code, std::size_t)> h) {
  if (!impl) throw error(errc::invalid_response, "reading the body of an empty response");
  coras::detail::spawn(impl->strand(), impl->read_some(b), std::move(h), d);
}

void response::read_all_start(response_impl* impl, diagnostics* d, std::uint64_t limit,
                              asio::any_completion_handler<void(error_code, std::string)> h) {
  if (!impl) throw error(errc::invalid_response, "reading the body of an empty response");
  coras::detail::spawn(impl->strand(), impl->read_all(limit), std::move(h), d);
}

}  // namespace coras::http

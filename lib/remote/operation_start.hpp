// Starting a repository operation. At most `max_connections_per_origin`
// operations to one origin run at once (the client's operations gate,
// shared by every repository of the client); the others wait in order as a
// queued_operation: the operation's arguments and its handler (about 1 KiB
// with its timer's wait). Their coroutine frames (co_spawn's, the
// operation's, the send loop's: about 5 KiB) exist only once they run, so
// 10,000 concurrent resolves stay small (docs/http.md, "Queued requests").
//
// No deadlock is added: an operation that runs waits only for requests
// (whose own gate is left at the response head) and for locks that running
// operations hold; no operation waits for another gated operation, and
// blob_reader reads, which hold connections, never pass this gate.
#pragma once

#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace coras::remote::detail {

template <class T, class Make>
class queued_operation : public std::enable_shared_from_this<queued_operation<T, Make>> {
 public:
  using handler_type = boost::asio::any_completion_handler<coras::detail::completion_t<T>>;

  queued_operation(std::shared_ptr<repository_state> s, diagnostics* d, Make make, handler_type h,
                   bool cancellable)
      : state_(std::move(s)),
        diag_(d),
        make_(std::move(make)),
        handler_(std::move(h)),
        // Busy from the start, queued or running (detail/spawn.hpp).
        target_(coras::detail::tracked_target(handler_, state_->client.impl()->completion_strand(),
                                              strand())),
        waiter_(strand()),
        cancellable_(cancellable) {}
  queued_operation(const queued_operation&) = delete;
  queued_operation& operator=(const queued_operation&) = delete;
  // Destroyed while queued only when the io_context is: leave the queue.
  ~queued_operation() {
    if (queued_) gate().withdraw(*gate_, waiter_);
  }

  /// Runs the operation now if there is room, else queues it. On the strand.
  void enter(std::size_t limit) {
    if (cancelled_) return abort();  // cancelled before it reached the strand
    // Looked up here: the gates live on the strand.
    gate_ = &gate().gate_for(state_->origin);
    if (gate().enter_or_queue(*gate_, limit, waiter_)) return run(ticket());
    queued_ = true;
    waiter_.timer.async_wait(
        [self = this->shared_from_this()](boost::system::error_code) { self->on_wait(); });
  }

  /// The caller's cancellation, on the strand: a queued operation completes
  /// with `operation_aborted`; a running one is cancelled as any coroutine.
  void cancel(boost::asio::cancellation_type_t type) {
    if (running_) return signal_.emit(type);
    cancelled_ = true;  // not started: it never will be
    if (queued_) {
      gate().withdraw(*gate_, waiter_);  // no-op once admitted
      waiter_.timer.cancel();
    }
  }

  const http::client_impl::strand_type& strand() const noexcept {
    return state_->client.impl()->strand();
  }

 private:
  using ticket_type = http::detail::admission::ticket;
  // What the coroutine keeps until it ends: this (the signal, and through
  // the repository state the client whose gate it is) and its place; its
  // end stops cancellation reaching a finished coroutine.
  struct keep {
    keep(std::shared_ptr<queued_operation> s, ticket_type p) noexcept
        : self(std::move(s)), place(std::move(p)) {}
    keep(keep&&) noexcept = default;
    ~keep() {
      if (self) self->running_ = false;
    }
    // Declared first, destroyed last: the place is given back while the
    // client (its gate) is certainly alive.
    std::shared_ptr<queued_operation> self;
    ticket_type place;
  };

  http::detail::admission& gate() const noexcept { return state_->client.impl()->operations(); }
  ticket_type ticket() { return ticket_type(&gate(), gate_); }

  void on_wait() {
    queued_ = false;
    if (waiter_.admitted) {
      auto place = ticket();  // handed over by a leaver; given back below if cancelled
      if (!cancelled_) return run(std::move(place));
    }
    abort();
  }

  void run(ticket_type place) {
    running_ = true;
    auto slot = cancellable_ ? signal_.slot() : boost::asio::cancellation_slot();
    coras::detail::spawn_keeping(strand(), make_(), std::move(handler_), std::move(target_), diag_,
                                 slot, keep{this->shared_from_this(), std::move(place)});
  }

  void abort() {
    auto ec = coras::detail::settle(
        std::make_exception_ptr(boost::system::system_error(boost::asio::error::operation_aborted,
                                                            "cancelled while waiting to start")),
        diag_);
    auto target = std::move(target_);  // busy until the handler is queued there
    boost::asio::dispatch(target, [h = std::move(handler_), ec]() mutable {
      if constexpr (std::is_void_v<T>)
        std::move(h)(ec);
      else
        std::move(h)(ec, coras::detail::unboxed_t<T>{});
    });
  }

  std::shared_ptr<repository_state> state_;
  diagnostics* diag_;
  Make make_;
  handler_type handler_;
  boost::asio::any_completion_executor target_;    // the handler's, tracked
  http::detail::admission::gate* gate_ = nullptr;  // its origin's, once on the strand
  http::detail::admission::waiter waiter_;
  boost::asio::cancellation_signal signal_;  // to the running coroutine
  bool cancellable_;
  bool queued_ = false;
  bool running_ = false;
  bool cancelled_ = false;
};

/// Installed in the caller's cancellation slot: forwards to the strand.
template <class Op>
struct forward_cancellation {
  std::weak_ptr<Op> op;
  void operator()(boost::asio::cancellation_type_t type) {
    auto held = op.lock();
    if (!held) return;  // completed already
    const auto ex = held->strand();
    boost::asio::dispatch(ex, [held = std::move(held), type] { held->cancel(type); });
  }
};

/// Starts `f(s, args...)` (a coroutine returning `awaitable<T>`) through
/// the operations gate of `s`'s client, completing `h`.
template <class F, class... Args>
void start_operation(
    const std::shared_ptr<repository_state>& s, diagnostics* d,
    boost::asio::any_completion_handler<coras::detail::completion_t<
        typename std::invoke_result_t<F, std::shared_ptr<repository_state>, Args...>::value_type>>
        h,
    F f, Args... args) {
  using T =
      typename std::invoke_result_t<F, std::shared_ptr<repository_state>, Args...>::value_type;
  auto make = [s, f, ... args = std::move(args)]() mutable {
    return f(std::move(s), std::move(args)...);
  };
  auto& client = *s->client.impl();
  const auto limit = client.options().max_connections_per_origin;  // at least 1
  auto slot = boost::asio::get_associated_cancellation_slot(h);
  using op_type = queued_operation<T, decltype(make)>;
  auto op = std::make_shared<op_type>(s, d, std::move(make), std::move(h), slot.is_connected());
  if (slot.is_connected()) slot.template emplace<forward_cancellation<op_type>>(op);
  boost::asio::dispatch(client.strand(), [op = std::move(op), limit] { op->enter(limit); });
}

}  // namespace coras::remote::detail

/// @file
/// The completion token that gives an error its words: with it, an operation
/// whose handler is `void(error_code, T…)` completes with
/// `void(std::exception_ptr, T…)` instead, the exception being a
/// `coras::error` that carries the whole sentence and the registry's answer
/// (as Boost.MySQL's with_diagnostics does). coras's default token is
/// `with_diagnostics(asio::use_awaitable)`, so `co_await repo.async_resolve("v1")`
/// throws what went wrong, not only the error category's text.
#pragma once

#include <coras/core/error.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace coras {

/// A completion token that wraps `Inner` (any completion token) and gives an
/// error its words: an operation whose handler is `void(error_code, T…)`
/// completes through `Inner` with `void(std::exception_ptr, T…)` instead, the
/// exception (null on success) being a `coras::error` that carries the whole
/// message and the registry's answer (as Boost.MySQL's `with_diagnostics`
/// does). With `use_awaitable` that exception is thrown by `co_await`; with
/// `use_future`, by `get()`. Make one with `with_diagnostics()`.
///
/// The handler's associated executor, cancellation slot and allocator are the
/// ones `Inner` gives.
template <class Inner>
struct with_diagnostics_t {
  Inner inner{};  ///< the wrapped token
};

/// `with_diagnostics(asio::use_awaitable)`, `with_diagnostics(asio::use_future)`…
template <class Inner>
constexpr with_diagnostics_t<std::decay_t<Inner>> with_diagnostics(Inner&& inner) {
  return {std::forward<Inner>(inner)};
}

/// The token every coras operation takes when none is given: the operation
/// is an `asio::awaitable<T>` to `co_await` in a coroutine on an
/// `any_io_executor`, throwing `coras::error` on failure. (Not
/// with_diagnostics(deferred), as Boost.MySQL has it: Boost 1.81's co_await of
/// a deferred operation whose handler takes `(exception_ptr, T)` does not
/// compile. Pass `asio::deferred` explicitly to compose operations, e.g. in
/// a parallel_group.)
using default_completion_token_t = with_diagnostics_t<boost::asio::use_awaitable_t<>>;

namespace detail {

/// The `coras::error` a failed operation stands for: the registry's answer
/// when there was one, else the sentence the operation recorded. (Inline:
/// a shared libcoras exports no detail symbols.)
inline error error_of(error_code ec, const diagnostics& d) {
  if (const auto* r = d.registry()) return error(*r);
  return error(ec, d.message().empty() ? ec.message() : d.message());
}

/// The handler with_diagnostics puts in front of the caller's: it owns the
/// diagnostics the operation fills (at a stable address, since handlers move)
/// and turns `(error_code, T…)` into `(exception_ptr, T…)`.
template <class Handler>
struct diagnosing_handler {
  Handler inner;
  std::unique_ptr<diagnostics> diag = std::make_unique<diagnostics>();

  template <class... Args>
  void operator()(error_code ec, Args&&... args) {
    std::exception_ptr e;
    if (ec) e = std::make_exception_ptr(error_of(ec, *diag));
    std::move(inner)(std::move(e), std::forward<Args>(args)...);
  }
};

template <class T>
struct is_diagnosing_handler : std::false_type {};
template <class H>
struct is_diagnosing_handler<diagnosing_handler<H>> : std::true_type {};

/// The diagnostics an operation should fill for `handler`: its own when it is
/// a with_diagnostics handler, nullptr for any other.
template <class Handler>
diagnostics* diagnostics_of(const Handler& handler) noexcept {
  if constexpr (is_diagnosing_handler<Handler>::value)
    return handler.diag.get();
  else
    return nullptr;
}

}  // namespace detail
}  // namespace coras

namespace boost::asio {

/// How `coras::with_diagnostics_t` completes an operation whose handler is
/// `void(error_code, Args…)`: through the wrapped token, with
/// `void(std::exception_ptr, Args…)`.
template <class Inner, class... Args>
struct async_result<coras::with_diagnostics_t<Inner>, void(boost::system::error_code, Args...)> {
  /// Starts `init` with the wrapped token, behind a handler that owns the
  /// operation's `coras::diagnostics` and turns a failure into a
  /// `coras::error`.
  template <class Initiation, class RawToken, class... InitArgs>
  static auto initiate(Initiation&& init, RawToken&& token, InitArgs&&... args) {
    return async_initiate<const Inner&, void(std::exception_ptr, Args...)>(
        [init = std::forward<Initiation>(init)](auto handler, auto&&... a) mutable {
          using H = std::decay_t<decltype(handler)>;
          std::move(init)(coras::detail::diagnosing_handler<H>{std::move(handler)},
                          std::forward<decltype(a)>(a)...);
        },
        token.inner, std::forward<InitArgs>(args)...);
  }
};

// The caller's executor, cancellation slot and allocator stay the wrapped
// handler's.
template <template <class, class> class Associator, class Handler, class Default>
struct associator<Associator, coras::detail::diagnosing_handler<Handler>, Default>
    : Associator<Handler, Default> {
  static typename Associator<Handler, Default>::type get(
      const coras::detail::diagnosing_handler<Handler>& h) noexcept {
    return Associator<Handler, Default>::get(h.inner);
  }
  static auto get(const coras::detail::diagnosing_handler<Handler>& h, const Default& d) noexcept
      -> decltype(Associator<Handler, Default>::get(h.inner, d)) {
    return Associator<Handler, Default>::get(h.inner, d);
  }
};

}  // namespace boost::asio

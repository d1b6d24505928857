// The bridge from a completion token to compiled code: public async_* functions
// are thin templates that type-erase the handler and call a non-template
// function in lib/, which runs a coroutine on the object's executor.
#pragma once

#include <coras/core/with_diagnostics.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <utility>

namespace coras::detail {

/// Initiates an operation with signature `Signature` for `token`: `start` is
/// called with the diagnostics to fill (the caller's `diag` when given, else
/// the with_diagnostics token's own, else nullptr), an
/// `any_completion_handler<Signature>` and the moved `args`.
///
/// Object lifetimes, the one rule: `start` captures what the operation works
/// on by value (a handle's shared state, an implementation pointer that
/// stays put when its owner moves), never `this` of a movable object, so a
/// deferred operation made from an object stays valid when that object is
/// moved.
template <class Signature, class Token, class Start, class... Args>
auto initiate(Token&& token, Start start, diagnostics* diag, Args&&... args) {
  return boost::asio::async_initiate<Token, Signature>(
      [start, diag](auto handler, auto&&... a) mutable {
        diagnostics* d = diag ? diag : diagnostics_of(handler);
        start(d, boost::asio::any_completion_handler<Signature>(std::move(handler)),
              std::forward<decltype(a)>(a)...);
      },
      token, std::forward<Args>(args)...);
}

/// Initiates `(copy of self).*start(diag, handler, args…)`: the form every
/// operation of a handle class (registry, repository) takes. Working on a copy
/// of the handle (cheap: shared state) means a deferred operation does not
/// depend on the handle it was made from.
template <class Token, class Self, class Sig, class... Params, class... Args>
auto initiate_member(Token&& token, const Self& self,
                     void (Self::*start)(diagnostics*, boost::asio::any_completion_handler<Sig>,
                                         Params...) const,
                     diagnostics* diag, Args&&... args) {
  return initiate<Sig>(
      std::forward<Token>(token),
      [self, start](diagnostics* d, auto handler, auto&&... a) {
        (self.*start)(d, std::move(handler), std::forward<decltype(a)>(a)...);
      },
      diag, std::forward<Args>(args)...);
}

}  // namespace coras::detail

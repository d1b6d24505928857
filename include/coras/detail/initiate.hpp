// The bridge from a completion token to compiled code: public async_* functions
// are thin templates that type-erase the handler and call a non-template
// function in lib/, which runs a coroutine on the object's executor.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <utility>

namespace coras {
class diagnostics;
}

namespace coras::detail {

/// Initiates an operation with signature `Signature` for `token`: `start` is
/// called with an `any_completion_handler<Signature>` and the moved `args`.
template <class Signature, class Token, class Start, class... Args>
auto initiate(Token&& token, Start start, Args&&... args) {
  return boost::asio::async_initiate<Token, Signature>(
      [start](auto handler, auto&&... a) mutable {
        start(boost::asio::any_completion_handler<Signature>(std::move(handler)),
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
      [self, start, diag](auto handler, auto&&... a) {
        (self.*start)(diag, std::move(handler), std::forward<decltype(a)>(a)...);
      },
      std::forward<Args>(args)...);
}

}  // namespace coras::detail

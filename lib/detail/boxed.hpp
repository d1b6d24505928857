// A coroutine's large result, boxed (see `boxed`); used by spawn.hpp, and
// by the coroutines that return one without including Asio's co_spawn.
#pragma once

#include <memory>
#include <utility>

namespace coras::detail {

/// A large result (a `fetched`: a descriptor of ~400 bytes and a reader)
/// that a coroutine returns boxed: it then moves as a pointer through
/// co_spawn's machinery (its frame and the completion's lambdas) and is
/// taken out of the box only for the handler, whose signature names `T`.
template <class T>
using boxed = std::unique_ptr<T>;

/// What the handler of an operation whose coroutine returns `T` receives.
template <class T>
struct unboxed {
  using type = T;
};
template <class T>
struct unboxed<boxed<T>> {
  using type = T;
};
template <class T>
using unboxed_t = typename unboxed<T>::type;

/// `value` as the handler receives it (an empty box, from a failure: `T{}`).
template <class T>
T&& unbox(T&& value) noexcept {
  return std::forward<T>(value);
}
template <class T>
T unbox(boxed<T>&& value) {
  return value ? std::move(*value) : T{};
}

}  // namespace coras::detail

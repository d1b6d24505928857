// A strand held as an any_io_executor that Asio can copy without allocating.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace coras::detail {

/// A strand over `ex`. Over an io_context's own executor it is a
/// `strand<io_context::executor_type>`, small enough for any_io_executor's
/// object buffer, so the copies and `prefer(outstanding_work.tracked)` Asio
/// makes on every operation do not allocate (a `strand<any_io_executor>`
/// cost the HTTP client about 40 allocations a request). Over any other
/// executor: `strand<any_io_executor>`.
inline boost::asio::any_io_executor make_strand(const boost::asio::any_io_executor& ex) {
  if (const auto* io = ex.target<boost::asio::io_context::executor_type>())
    return boost::asio::make_strand(*io);
  return boost::asio::make_strand(ex);
}

/// Whether the calling thread runs inside `strand` (one make_strand made, or
/// the io_context executor a single-threaded client uses in its place).
/// `dispatch` cannot tell through an any_io_executor: it allocates a
/// type-erased function first, even when it then runs it inline.
inline bool running_in(const boost::asio::any_io_executor& strand) noexcept {
  using io_executor = boost::asio::io_context::executor_type;
  using io_strand = boost::asio::strand<io_executor>;
  using any_strand = boost::asio::strand<boost::asio::any_io_executor>;
  if (const auto* s = strand.target<io_strand>()) return s->running_in_this_thread();
  if (const auto* s = strand.target<any_strand>()) return s->running_in_this_thread();
  if (const auto* e = strand.target<io_executor>()) return e->running_in_this_thread();
  return false;
}

}  // namespace coras::detail

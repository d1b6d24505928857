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

}  // namespace coras::detail

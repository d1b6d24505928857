// Runs a piece of blocking or CPU-heavy work (hashing, file I/O) on the
// client's work executor when it has one, and resumes the calling coroutine
// on its own executor afterwards.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>

namespace coras::detail {

/// Calls `work` on `pool` when set (the caller is suspended meanwhile, and
/// resumes on its own executor), else inline. Exceptions from `work` are
/// rethrown in the caller.
boost::asio::awaitable<void> offload(const std::optional<boost::asio::any_io_executor>& pool,
                                     std::function<void()> work);

}  // namespace coras::detail

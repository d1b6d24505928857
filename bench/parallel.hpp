// Running jobs with a bound on how many are in flight (phases.cpp, sweep.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>

namespace coras::bench_tool {

// Runs job(worker, i) for i in [0, n) with at most `concurrency` in flight
// (worker < concurrency: one coroutine per worker, each taking the next i);
// the first failure (in completion order) is rethrown once every worker ended.
using job_fn = std::function<boost::asio::awaitable<void>(std::size_t worker, std::size_t index)>;

boost::asio::awaitable<void> for_each_parallel(std::size_t n, std::size_t concurrency,
                                               const job_fn& job);

}  // namespace coras::bench_tool

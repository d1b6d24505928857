// What the transfer commands (copy, push, pull) share: their common options
// (--concurrency, --platform/--all-platforms, --progress/--no-progress), the progress display's
// lifetime, and running a job's workers side by side.
#pragma once

#include "options.hpp"
#include "progress.hpp"

#include <coras/core/descriptor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coras::cli {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

/// --concurrency default of push and pull (files at once).
inline constexpr std::size_t default_file_concurrency = 4;

/// --concurrency N: 1 to 256; `fallback` when absent. Throws usage_error.
std::size_t concurrency_option(const parsed_args& a, std::size_t fallback);

/// --platform OS/ARCH[/VARIANT] and --all-platforms (copy, pull): the one
/// platform of an index to take, or nullopt for every platform
/// (--all-platforms). Neither given: this machine's (`host_platform()`).
/// Throws usage_error for both, or a --platform `parse_platform` refuses.
std::optional<platform> platform_option(const parsed_args& a);

/// The display --progress/--no-progress (and -v) ask for; usage_error when
/// both are given. `verb` and `noun` as for `progress`.
std::shared_ptr<progress> progress_for(const parsed_args& a, const global_options& g,
                                       std::string verb, std::string noun);

/// Stops a progress display when the operation leaves, however it leaves: the
/// error message that follows a failure must not land inside the display.
struct progress_stopper {
  std::shared_ptr<progress> p;
  ~progress_stopper() { p->stop(true); }
};

/// Runs `workers` copies of `worker(job)` at once; the first failure cancels
/// the others and is rethrown.
template <class Job>
boost::asio::awaitable<void> run_workers(
    std::shared_ptr<Job> job, std::size_t workers,
    boost::asio::awaitable<void> (*worker)(std::shared_ptr<Job>)) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, worker(job), asio::deferred));
  std::vector<op_type> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(asio::co_spawn(ex, worker(job), asio::deferred));
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (auto i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
}

}  // namespace coras::cli

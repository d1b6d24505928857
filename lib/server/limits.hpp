// The registry's resource limits as pure decisions (issue 17, items 10 and
// 12): upload-session quotas and expiry, and the sentence a client sees when
// a limit is hit, naming the limit and its option. The storage (storage.cpp)
// keeps the usage; this file only decides.
#pragma once

#include <coras/server/registry.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace coras::server::detail {

/// The upload limits of `registry_options`, as the storage applies them.
struct upload_limits {
  std::size_t max_sessions = 0;
  std::size_t max_sessions_per_repository = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t max_bytes_per_repository = 0;
  std::chrono::steady_clock::duration idle_timeout{};

  static upload_limits of(const registry_options& o);
};

/// Open sessions and the bytes they hold (all, or one repository's).
struct upload_usage {
  std::size_t sessions = 0;
  std::uint64_t bytes = 0;
};

/// Which limit a request would exceed; `none` when it fits.
enum class upload_limit { none, sessions, sessions_per_repository, bytes, bytes_per_repository };

/// Whether `more_sessions` new sessions and `more_bytes` more bytes fit
/// beside `total` and `repository` usage. Never overflows: any `more_bytes`
/// is compared against the room left. The first limit exceeded is named,
/// totals before per-repository ones.
upload_limit check_upload_quota(const upload_usage& total, const upload_usage& repository,
                                const upload_limits& limits, std::size_t more_sessions,
                                std::uint64_t more_bytes) noexcept;

/// True when a session last used at `last_used` is idle for `idle` or longer at `now`.
bool upload_expired(std::chrono::steady_clock::time_point last_used,
                    std::chrono::steady_clock::time_point now,
                    std::chrono::steady_clock::duration idle) noexcept;

/// "upload session limit (registry_options::max_upload_sessions = 256) reached"
std::string describe(upload_limit which, const upload_limits& limits);

}  // namespace coras::server::detail

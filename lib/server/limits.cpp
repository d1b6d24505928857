#include "server/limits.hpp"

namespace coras::server::detail {
namespace {

// True when `used + more > max`, without computing `used + more`.
bool exceeds(std::uint64_t used, std::uint64_t more, std::uint64_t max) noexcept {
  return used > max || more > max - used;
}

}  // namespace

upload_limits upload_limits::of(const registry_options& o) {
  upload_limits l;
  l.max_sessions = o.max_upload_sessions;
  l.max_sessions_per_repository = o.max_upload_sessions_per_repository;
  l.max_bytes = o.max_upload_bytes;
  l.max_bytes_per_repository = o.max_upload_bytes_per_repository;
  l.idle_timeout =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(o.upload_idle_timeout);
  return l;
}

upload_limit check_upload_quota(const upload_usage& total, const upload_usage& repository,
                                const upload_limits& limits, std::size_t more_sessions,
                                std::uint64_t more_bytes) noexcept {
  if (more_sessions > 0 && exceeds(total.sessions, more_sessions, limits.max_sessions))
    return upload_limit::sessions;
  if (more_sessions > 0 &&
      exceeds(repository.sessions, more_sessions, limits.max_sessions_per_repository))
    return upload_limit::sessions_per_repository;
  if (more_bytes > 0 && exceeds(total.bytes, more_bytes, limits.max_bytes))
    return upload_limit::bytes;
  if (more_bytes > 0 && exceeds(repository.bytes, more_bytes, limits.max_bytes_per_repository))
    return upload_limit::bytes_per_repository;
  return upload_limit::none;
}

bool upload_expired(std::chrono::steady_clock::time_point last_used,
                    std::chrono::steady_clock::time_point now,
                    std::chrono::steady_clock::duration idle) noexcept {
  return now >= last_used && now - last_used >= idle;
}

std::string describe(upload_limit which, const upload_limits& limits) {
  switch (which) {
    case upload_limit::none: break;
    case upload_limit::sessions:
      return "upload session limit (registry_options::max_upload_sessions = " +
             std::to_string(limits.max_sessions) + ") reached";
    case upload_limit::sessions_per_repository:
      return "upload session limit per repository "
             "(registry_options::max_upload_sessions_per_repository = " +
             std::to_string(limits.max_sessions_per_repository) + ") reached";
    case upload_limit::bytes:
      return "upload byte limit (registry_options::max_upload_bytes = " +
             std::to_string(limits.max_bytes) + ") reached";
    case upload_limit::bytes_per_repository:
      return "upload byte limit per repository "
             "(registry_options::max_upload_bytes_per_repository = " +
             std::to_string(limits.max_bytes_per_repository) + ") reached";
  }
  return {};
}

}  // namespace coras::server::detail

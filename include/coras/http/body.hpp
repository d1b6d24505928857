/// @file
/// Deprecated names: the byte source moved to core (coras/core/byte_source.hpp)
/// because every layer streams through it. These aliases go away in 0.3.
#pragma once

#include <coras/core/byte_source.hpp>

namespace coras::http {

/// @deprecated Use `coras::byte_source`.
using body_source = ::coras::byte_source;

/// @deprecated Use `coras::memory_source`.
inline std::shared_ptr<::coras::byte_source> memory_body(std::string bytes) {
  return ::coras::memory_source(std::move(bytes));
}
/// @deprecated Use `coras::file_source`.
inline std::shared_ptr<::coras::byte_source> file_body(
    const std::filesystem::path& path, std::uint64_t offset = 0,
    std::optional<std::uint64_t> length = std::nullopt) {
  return ::coras::file_source(path, offset, length);
}
/// @deprecated Use `coras::counted_source`.
inline std::shared_ptr<::coras::byte_source> counted_body(
    std::shared_ptr<::coras::byte_source> inner, std::function<void(std::uint64_t done)> report,
    std::uint64_t every = 1 << 20) {
  return ::coras::counted_source(std::move(inner), std::move(report), every);
}

}  // namespace coras::http

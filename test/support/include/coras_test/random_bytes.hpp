// Deterministic incompressible test content.
#pragma once

#include <cstddef>
#include <string>

namespace coras::test {

/// `n` pseudo-random (incompressible) bytes, the same for the same `seed`.
std::string random_bytes(std::size_t n, unsigned seed = 1);

/// Equal content, compared without printing megabytes of binary on failure.
inline bool same(const std::string& a, const std::string& b) { return a == b; }

}  // namespace coras::test

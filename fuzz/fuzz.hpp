// What every fuzz target shares: the entry point's types, the input as text,
// and `require`, which turns a broken invariant into a crash libFuzzer keeps
// (with the message on stderr), so a target checks more than "no crash".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace coras::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "invariant broken: %s\n  [%.*s]\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// `detail` is printed when `ok` is false (the input or the value that broke it).
inline void require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

// Splits the input at the first occurrence of `sep`: the part before and
// after (all of it and empty when there is none). Lets one input carry
// several fields without a binary format the dictionaries cannot reach.
inline std::pair<std::string_view, std::string_view> split(std::string_view s,
                                                           std::string_view sep) {
  auto at = s.find(sep);
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + sep.size())};
}

}  // namespace coras::fuzz

#define CORAS_FUZZ_TARGET \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)

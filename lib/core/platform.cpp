// Platform names and matching, after containerd's platforms package (the
// normalization) and go-containerregistry's Platform.Satisfies (the fields a
// want leaves empty match anything).
#include <coras/core/error.hpp>
#include <coras/core/platform.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace coras {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool part_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Every element of `want` is in `have`.
bool subset(const std::vector<std::string>& want, const std::vector<std::string>& have) {
  return std::all_of(want.begin(), want.end(), [&](const std::string& w) {
    return std::find(have.begin(), have.end(), w) != have.end();
  });
}

}  // namespace

boost::system::result<platform> try_parse_platform(std::string_view text, std::string* why) {
  auto fail = [&](const std::string& problem) -> boost::system::result<platform> {
    if (why) *why = "platform \"" + std::string(text) + "\": " + problem;
    return make_error_code(errc::invalid_argument);
  };
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto slash = text.find('/', from);
    parts.emplace_back(text.substr(from, slash == std::string_view::npos ? slash : slash - from));
    if (slash == std::string_view::npos) break;
    from = slash + 1;
  }
  static constexpr const char* names[] = {"OS", "ARCH", "VARIANT"};
  if (parts.size() < 2) return fail("give OS/ARCH or OS/ARCH/VARIANT (e.g. linux/amd64)");
  if (parts.size() > 3)
    return fail("has " + std::to_string(parts.size()) +
                " parts; give OS/ARCH or OS/ARCH/VARIANT (e.g. linux/arm64/v8)");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) return fail(std::string(names[i]) + " is empty");
    for (std::size_t j = 0; j < parts[i].size(); ++j)
      if (!part_char(parts[i][j]))
        return fail(std::string(names[i]) + " \"" + parts[i] +
                    "\" holds a character other than a letter, a digit, '.', '_' or '-'");
  }
  platform p;
  p.os = lower(parts[0]);
  p.architecture = lower(parts[1]);
  if (parts.size() == 3) p.variant = lower(parts[2]);
  return p;
}

platform parse_platform(std::string_view text) {
  std::string why;
  auto p = try_parse_platform(text, &why);
  if (!p) throw coras::error(errc::invalid_argument, why);
  return *p;
}

std::string to_string(const platform& p) {
  auto s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

platform normalize_platform(platform p) {
  p.os = lower(std::move(p.os));
  p.architecture = lower(std::move(p.architecture));
  p.variant = lower(std::move(p.variant));
  auto& arch = p.architecture;
  auto& variant = p.variant;
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();  // the baseline, as containerd has it
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant.empty() || variant == "8" || variant == "v8.0") variant = "v8";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty()) variant = "v7";
  }
  if ((arch == "arm" || arch == "arm64") && all_digits(variant)) variant = "v" + variant;
  return p;
}

bool platform_matches(const platform& want_in, const platform& have_in) {
  const auto want = normalize_platform(want_in);
  const auto have = normalize_platform(have_in);
  return want.os == have.os && want.architecture == have.architecture &&
         (want.variant.empty() || want.variant == have.variant) &&
         (want.os_version.empty() || want.os_version == have.os_version) &&
         subset(want.os_features, have.os_features) && subset(want.features, have.features);
}

platform host_platform() {
  platform p;
#if defined(__linux__)
  p.os = "linux";
#elif defined(__APPLE__)
  p.os = "darwin";
#elif defined(_WIN32)
  p.os = "windows";
#elif defined(__FreeBSD__)
  p.os = "freebsd";
#elif defined(__NetBSD__)
  p.os = "netbsd";
#elif defined(__OpenBSD__)
  p.os = "openbsd";
#else
  p.os = "unknown";
#endif
#if defined(__x86_64__) || defined(_M_X64)
  p.architecture = "amd64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
  p.variant = "v7";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
  p.variant = "v6";
#else
  p.variant = "v5";
#endif
#elif defined(__i386__) || defined(_M_IX86)
  p.architecture = "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  p.architecture = "ppc64le";
#elif defined(__powerpc64__)
  p.architecture = "ppc64";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 64
  p.architecture = "riscv64";
#elif defined(__loongarch64)
  p.architecture = "loong64";
#elif defined(__mips64) && defined(__MIPSEL__)
  p.architecture = "mips64le";
#elif defined(__mips64)
  p.architecture = "mips64";
#else
  p.architecture = "unknown";
#endif
  return p;
}

descriptor select_platform(std::span<const descriptor> manifests, const platform& want,
                           std::string_view what) {
  for (const auto& m : manifests)
    if (m.platform && platform_matches(want, *m.platform)) return m;
  // Each platform once, in the index's order.
  std::vector<std::string> seen;
  for (const auto& m : manifests)
    if (m.platform) {
      auto name = to_string(*m.platform);
      if (!m.platform->os_version.empty()) name += " (os.version " + m.platform->os_version + ")";
      if (std::find(seen.begin(), seen.end(), name) == seen.end()) seen.push_back(std::move(name));
    }
  std::string message =
      std::string(what) + " has no manifest for platform " + to_string(normalize_platform(want));
  if (seen.empty()) {
    message += ": none of its manifests names a platform";
  } else {
    message += "; it has ";
    for (std::size_t i = 0; i < seen.size(); ++i) message += (i ? ", " : "") + seen[i];
  }
  throw coras::error(errc::not_found, message);
}

}  // namespace coras

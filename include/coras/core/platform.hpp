/// @file
/// Platforms as `coras pull --platform`, skopeo, crane and containerd name
/// them (`os/arch[/variant]`), and picking one manifest of a multi-platform
/// index.
#pragma once

#include <coras/core/descriptor.hpp>

#include <boost/system/result.hpp>

#include <span>
#include <string>
#include <string_view>

namespace coras {

/// Parses `os/arch[/variant]` (`linux/amd64`, `linux/arm64/v8`). Each part is
/// non-empty and made of letters, digits, `.`, `_` and `-`; upper case is
/// folded to lower case. Nothing else is normalized (`normalize_platform`
/// does that). Throws `coras::error` (`errc::invalid_argument`) whose what()
/// quotes the text and says what is wrong with it.
platform parse_platform(std::string_view text);

/// Non-throwing `parse_platform`. On failure, `why` (when given) receives the
/// message.
boost::system::result<platform> try_parse_platform(std::string_view text,
                                                   std::string* why = nullptr);

/// `os/arch`, or `os/arch/variant` when the variant is not empty (the form
/// `parse_platform` reads).
std::string to_string(const platform& p);

/// The platform with the architecture names and variants containerd
/// normalizes: `x86_64`/`x86-64` → `amd64`, `aarch64` → `arm64`, `i386` →
/// `386`, `armhf` → `arm/v7`, `armel` → `arm/v6`; `arm64` without a variant
/// (or `8`, `v8.0`) is `arm64/v8`, `arm` without one (or `7`) is `arm/v7`,
/// a bare number `N` is `vN`; `os` and `architecture` in lower case. Other
/// fields are kept.
platform normalize_platform(platform p);

/// Whether an index entry's `have` satisfies `want`, after both are
/// normalized (as containerd's and crane's matchers do): `os` and
/// `architecture` equal; `variant` equal when `want` names one (an `arm64`
/// or `arm` want always does, by its default); `os.version` equal only when
/// `want` gives one; every `os.features` and `features` of `want` present in
/// `have`.
bool platform_matches(const platform& want, const platform& have);

/// The platform this library was built for (`linux/amd64`, `linux/arm64/v8`,
/// `darwin/arm64/v8`…), taken from the compiler's target macros: what a
/// process on this machine runs. `os` is `unknown` on an OS this function
/// does not know, `architecture` likewise.
platform host_platform();

/// The first of `manifests` (an index's entries, in order) whose `platform`
/// satisfies `want` (`platform_matches`); entries without a platform never
/// match. Throws `coras::error` (`errc::not_found`) when none does, with a
/// message naming `what` (e.g. the index's reference or digest), the
/// platform wanted and every platform the index has (`it has linux/amd64,
/// linux/arm64/v8`), so the caller can pick another.
descriptor select_platform(std::span<const descriptor> manifests, const platform& want,
                           std::string_view what);

}  // namespace coras

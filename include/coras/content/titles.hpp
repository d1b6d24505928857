/// @file
/// Turning the titles of an artifact's layers into files under a directory,
/// safely: what `coras pull` (and `oras pull`) does before it writes a byte.
///
/// A layer's title (the `org.opencontainers.image.title` annotation) comes from
/// whoever pushed the manifest. Written as a path unchecked, a title such as
/// `../../.bashrc`, `/etc/passwd` or `link/x` (with `link` a symbolic link
/// already in the directory) writes outside the directory the caller chose.
/// These functions refuse such titles, as oras-go's file store does
/// (`content/file`, `ErrPathTraversalDisallowed`), and also refuse two layers
/// that would land on one file.
#pragma once

#include <coras/core/descriptor.hpp>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coras::content {

/// The annotation that names a layer's file in an artifact (`oras push`
/// writes a file's base name there; `oras pull` writes the layer to it).
inline constexpr std::string_view title_annotation = "org.opencontainers.image.title";

/// The relative path `title` names, lexically normalised. Pure: looks at the
/// string only, never at the file system. For example, `a/./b` gives `a/b`.
///
/// Throws `coras::error` with `errc::invalid_argument` and the message
/// `title "T" WHY` (in every message here, T shows control characters as
/// `\xNN`: a hostile title cannot put terminal escapes into an error
/// message), WHY being one of: "is empty", "holds a control
/// character" (below 0x20, or 0x7f), "is an absolute path" (a root name or
/// root directory), "has a \"..\" component" (anywhere, even one that would
/// stay inside: `a/../b`), "does not name a file" (`.`, `sub/`).
std::filesystem::path title_to_relative_path(std::string_view title);

/// True when `path` is `base` or lies below it, compared component by
/// component (`/a/bc` is not below `/a/b`). Both should be absolute and
/// normal (e.g. from `std::filesystem::weakly_canonical`); nothing is
/// resolved here. Pure.
bool path_is_within(const std::filesystem::path& base, const std::filesystem::path& path);

/// Where the file titled `title` goes under `base`: `base /
/// title_to_relative_path(title)`, after checking on the file system that
/// writing it (or its `.partial` companion, which resumable downloads such
/// as `remote::repository::async_fetch_to_file` write first) stays under
/// `base`.
///
/// `base` must be canonical (`std::filesystem::canonical` of an existing
/// directory). Parents of the target that do not exist yet are fine; they
/// are not created.
///
/// Throws `coras::error`:
/// - `errc::invalid_argument`, message `title "T" WHY`: the reasons of
///   `title_to_relative_path`, and "leads outside the output directory (to
///   P)" (a symbolic link on the way resolves outside `base`, or the title
///   resolves to `base` itself), "names a symbolic link (P)" or "names a
///   directory (P)" (the target or its `.partial` already is one: the
///   download would follow the link, or could not write);
/// - a system error (`boost::system::system_category()`), message "cannot
///   check P: …", when the path cannot be resolved.
///
/// Blocking (a few `stat`/`readlink` calls) on the calling thread. The
/// answer holds only while nobody else changes the directory: it checks,
/// the caller writes later.
std::filesystem::path title_to_target_path(const std::filesystem::path& base,
                                           std::string_view title);

/// A titled layer and the file it goes to (see `titled_layer_targets`).
struct titled_layer_target {
  std::size_t index = 0;           ///< of the layer in the list given
  std::string title;               ///< the annotation, as the manifest has it
  std::filesystem::path relative;  ///< `title_to_relative_path(title)`
  std::filesystem::path path;      ///< `title_to_target_path(base, title)` (absolute)
};

/// The files a pull of `layers` (a manifest's layers, in order) writes
/// under `base`: one entry per layer that has a `title_annotation`, in the
/// layers' order; untitled layers are left out (the caller decides whether
/// to say so). Every title is checked before the caller writes anything.
///
/// `base` must be canonical, as for `title_to_target_path`.
///
/// Throws `coras::error`, for the first layer at fault:
/// - `errc::invalid_argument`, message `layer DIGEST: title "T" WHY;
///   refusing to write it`, with WHY as in `title_to_target_path`;
/// - `errc::invalid_argument`, message `two layers are titled "R"; refusing
///   to pull`, when two titles lead to one file (`same.txt` and
///   `./same.txt`; R is the relative path);
/// - the system errors of `title_to_target_path`.
///
/// Blocking, as `title_to_target_path`.
std::vector<titled_layer_target> titled_layer_targets(const std::filesystem::path& base,
                                                      std::span<const descriptor> layers);

}  // namespace coras::content

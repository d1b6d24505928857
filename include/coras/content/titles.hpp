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
///
/// It also says where a download into a file stages its bytes
/// (`staging_for`): in a hidden directory next to the file, under names
/// derived from the blob's digest, which no title can name. A title can then
/// never make one layer's staging file another layer's final file.
#pragma once

#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>

#include <cstddef>
#include <cstdint>
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
/// stay inside: `a/../b`), "does not name a file" (`.`, `sub/`), "uses the
/// name of coras's staging directory (.coras-staging)" (a component equal to
/// `staging_directory` in any case: downloads stage their bytes there).
std::filesystem::path title_to_relative_path(std::string_view title);

/// True when `path` is `base` or lies below it, compared component by
/// component (`/a/bc` is not below `/a/b`). Both should be absolute and
/// normal (e.g. from `std::filesystem::weakly_canonical`); nothing is
/// resolved here. Pure.
bool path_is_within(const std::filesystem::path& base, const std::filesystem::path& path);

/// Where the file titled `title` goes under `base`: `base /
/// title_to_relative_path(title)`, after checking on the file system that
/// writing it (and staging it first, see `staging_for`, as resumable
/// downloads such as `remote::repository::async_fetch_to_file` do) stays
/// under `base`.
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
///   directory (P)" (the target already is one: the download could not
///   write), "is staged in P, which is not a directory" (the staging
///   directory next to the target exists as a symbolic link or a file: the
///   download would write through it);
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
/// - `errc::invalid_argument`, message `titles "A" and "B" differ only in
///   case; refusing to pull`, when the relative paths are equal after ASCII
///   case folding (on a case-insensitive file system they are one file;
///   they are refused everywhere, so an artifact pulls the same on every
///   system);
/// - `errc::invalid_argument`, message `title "A" names a file that title
///   "B" needs as a directory; refusing to pull` (`a` and `a/b`, in either
///   order and in any case);
/// - the system errors of `title_to_target_path`.
///
/// Blocking, as `title_to_target_path`.
std::vector<titled_layer_target> titled_layer_targets(const std::filesystem::path& base,
                                                      std::span<const descriptor> layers);

/// The name of the hidden directory, next to a file being downloaded, that
/// holds its bytes until they are verified. Titles may not use it
/// (`title_to_relative_path`).
inline constexpr std::string_view staging_directory = ".coras-staging";

/// Where a download of the blob `blob` into the file `target` stages its
/// bytes (see `staging_for`).
struct staging_files {
  std::filesystem::path directory;  ///< `target.parent_path() / staging_directory`
  /// The bytes so far: `ALG-HEX-NAME.partial` in `directory`, NAME being the
  /// first 16 hex digits of the SHA-256 of the target's file name (two files
  /// of one blob in one directory stage apart; no title chooses the name).
  std::filesystem::path partial;
  /// coras's record beside it (`….coras`): `staging_record(blob, size)`. A
  /// partial file is continued only when its record is there and matches;
  /// a partial file without one (not written by coras) is started over.
  std::filesystem::path record;
};

/// The staging files of a download of `blob` into `target`. Pure.
staging_files staging_for(const std::filesystem::path& target, const digest& blob);

/// The text of a staging record for a blob of `size` bytes.
std::string staging_record(const digest& blob, std::uint64_t size);

/// The bytes a download of `blob` (of `size` bytes) into `target` would
/// continue from: the partial file's size when its record matches and it is
/// not longer than `size`, else 0. For progress displays and "resuming"
/// notes; the download itself hashes those bytes again. Blocking (`stat`,
/// a small read); never throws.
std::uint64_t staged_bytes(const std::filesystem::path& target, const digest& blob,
                           std::uint64_t size) noexcept;

}  // namespace coras::content

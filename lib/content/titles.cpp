#include <coras/content/titles.hpp>

#include <coras/core/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <system_error>

namespace coras::content {

namespace fs = std::filesystem;

namespace {

// The title as a message shows it: control characters (a hostile title may
// carry terminal escapes, or a NUL that would cut the message) as \xNN.
std::string printable(std::string_view title) {
  std::string out;
  for (char c : title) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// Every refusal reads `title "T" WHY`, so that a caller can put the layer in
// front of it and its own consequence after it.
error refusal(std::string_view title, const std::string& why) {
  return error(errc::invalid_argument, "title \"" + printable(title) + "\" " + why);
}

// ASCII case folding: what a case-insensitive file system (macOS, Windows)
// at least folds. Non-ASCII letters are compared as they are.
std::string folded(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

fs::path title_to_relative_path(std::string_view title) {
  if (title.empty()) throw refusal(title, "is empty");
  if (std::any_of(title.begin(), title.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    throw refusal(title, "holds a control character");
  const fs::path p(title);
  if (p.is_absolute() || p.has_root_path()) throw refusal(title, "is an absolute path");
  // Refused even where it would stay inside (`a/../b`): a title is a name,
  // not a walk, and no tool that writes titles produces one.
  for (const auto& part : p) {
    if (part == "..") throw refusal(title, "has a \"..\" component");
    // Staging names are coras's own: a title naming one could become
    // another layer's staging file, or its staging file another's file.
    if (folded(part.string()) == staging_directory)
      throw refusal(title, "uses the name of coras's staging directory (" +
                               std::string(staging_directory) + ")");
  }
  auto normal = p.lexically_normal();
  if (normal.empty() || normal == "." || !normal.has_filename() || *normal.begin() == "..")
    throw refusal(title, "does not name a file");
  return normal;
}

bool path_is_within(const fs::path& base, const fs::path& path) {
  auto [b, q] = std::mismatch(base.begin(), base.end(), path.begin(), path.end());
  return b == base.end();
}

fs::path title_to_target_path(const fs::path& base, std::string_view title) {
  const auto target = base / title_to_relative_path(title);
  std::error_code ec;
  // Resolves the symbolic links that already exist on the way (a directory
  // link inside `base` pointing elsewhere); the missing tail stays lexical.
  const auto resolved = fs::weakly_canonical(target, ec);
  if (ec)
    throw error(error_code(ec.value(), boost::system::system_category()),
                "cannot check " + target.string() + ": " + ec.message());
  if (!path_is_within(base, resolved) || resolved == base)
    throw refusal(title, "leads outside the output directory (to " + resolved.string() + ")");
  // A download renames its staged file over the target: the target may not
  // be a link (nothing writes through it, but a pull that reports a file
  // should write that file) or a directory.
  const auto st = fs::symlink_status(target, ec);
  if (fs::is_symlink(st)) throw refusal(title, "names a symbolic link (" + target.string() + ")");
  if (fs::is_directory(st)) throw refusal(title, "names a directory (" + target.string() + ")");
  // The staging directory beside it (inside `base`, since the target's
  // parent is) is written through: it must be a real directory or absent.
  const auto staging = target.parent_path() / staging_directory;
  const auto staging_st = fs::symlink_status(staging, ec);
  if (fs::exists(staging_st) && !fs::is_directory(staging_st))
    throw refusal(title, "is staged in " + staging.string() + ", which is not a directory");
  return target;
}

std::vector<titled_layer_target> titled_layer_targets(const fs::path& base,
                                                      std::span<const descriptor> layers) {
  std::vector<titled_layer_target> out;
  // By folded relative path: the titles already planned as files, and every
  // directory those need, each with the title that claimed it first.
  std::map<std::string, std::string> files, directories;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& layer = layers[i];
    auto it = layer.annotations.find(title_annotation);
    if (it == layer.annotations.end()) continue;
    titled_layer_target t;
    t.index = i;
    t.title = it->second;
    try {
      t.relative = title_to_relative_path(t.title);
      t.path = title_to_target_path(base, t.title);
    } catch (const error& e) {
      if (e.code() != errc::invalid_argument) throw;
      throw error(e.code(),
                  "layer " + layer.digest.str() + ": " + e.what() + "; refusing to write it");
    }
    const auto key = folded(t.relative.generic_string());
    if (auto same = files.find(key); same != files.end()) {
      const auto other = title_to_relative_path(same->second);
      if (other == t.relative)
        throw error(errc::invalid_argument,
                    "two layers are titled \"" + t.relative.string() + "\"; refusing to pull");
      throw error(errc::invalid_argument, "titles \"" + printable(same->second) + "\" and \"" +
                                              printable(t.title) +
                                              "\" differ only in case; refusing to pull");
    }
    if (auto dir = directories.find(key); dir != directories.end())
      throw error(errc::invalid_argument,
                  "title \"" + printable(t.title) + "\" names a file that title \"" +
                      printable(dir->second) + "\" needs as a directory; refusing to pull");
    // Each parent directory this title needs: none may be another's file.
    for (auto parent = t.relative.parent_path(); !parent.empty(); parent = parent.parent_path()) {
      const auto dir_key = folded(parent.generic_string());
      if (auto file = files.find(dir_key); file != files.end())
        throw error(errc::invalid_argument,
                    "title \"" + printable(file->second) + "\" names a file that title \"" +
                        printable(t.title) + "\" needs as a directory; refusing to pull");
      directories.emplace(dir_key, t.title);
    }
    files.emplace(key, t.title);
    out.push_back(std::move(t));
  }
  return out;
}

staging_files staging_for(const fs::path& target, const digest& blob) {
  staging_files f;
  f.directory = target.parent_path() / staging_directory;
  const auto name_digest = digest::of(target.filename().string());
  const auto name_hash = name_digest.hex().substr(0, 16);
  const auto stem = std::string(blob.algorithm_name()) + "-" + std::string(blob.hex()) + "-" +
                    std::string(name_hash);
  f.partial = f.directory / (stem + ".partial");
  f.record = f.directory / (stem + ".coras");
  return f;
}

std::string staging_record(const digest& blob, std::uint64_t size) {
  return "coras staged download 1\n" + blob.str() + "\n" + std::to_string(size) + "\n";
}

std::uint64_t staged_bytes(const fs::path& target, const digest& blob,
                           std::uint64_t size) noexcept {
  try {
    const auto files = staging_for(target, blob);
    const auto expected = staging_record(blob, size);
    const int fd = ::open(files.record.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return 0;
    std::string got(expected.size() + 1, '\0');
    const auto n = ::read(fd, got.data(), got.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(expected.size()) ||
        got.compare(0, expected.size(), expected) != 0)
      return 0;
    struct stat st {};
    if (::lstat(files.partial.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    const auto have = static_cast<std::uint64_t>(st.st_size);
    return have <= size ? have : 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace coras::content

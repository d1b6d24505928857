#include <coras/content/titles.hpp>

#include <coras/core/error.hpp>

#include <algorithm>
#include <cstdio>
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
  for (const auto& part : p)
    if (part == "..") throw refusal(title, "has a \"..\" component");
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
  auto partial = target;
  partial += ".partial";
  std::error_code ec;
  // Resolves the symbolic links that already exist on the way (a directory
  // link inside `base` pointing elsewhere); the missing tail stays lexical.
  const auto resolved = fs::weakly_canonical(target, ec);
  if (ec)
    throw error(error_code(ec.value(), boost::system::system_category()),
                "cannot check " + target.string() + ": " + ec.message());
  if (!path_is_within(base, resolved) || resolved == base)
    throw refusal(title, "leads outside the output directory (to " + resolved.string() + ")");
  // A download opens the `.partial` file following links, then renames it
  // over the target: neither may be a link (or a directory) already.
  for (const auto& p : {target, partial}) {
    const auto st = fs::symlink_status(p, ec);
    if (fs::is_symlink(st)) throw refusal(title, "names a symbolic link (" + p.string() + ")");
    if (fs::is_directory(st)) throw refusal(title, "names a directory (" + p.string() + ")");
  }
  const auto resolved_partial = fs::weakly_canonical(partial, ec);
  if (ec || !path_is_within(base, resolved_partial))
    throw refusal(title, "leads outside the output directory");
  return target;
}

std::vector<titled_layer_target> titled_layer_targets(const fs::path& base,
                                                      std::span<const descriptor> layers) {
  std::vector<titled_layer_target> out;
  std::set<fs::path> seen;
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
    if (!seen.insert(t.path).second)
      throw error(errc::invalid_argument,
                  "two layers are titled \"" + t.relative.string() + "\"; refusing to pull");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace coras::content

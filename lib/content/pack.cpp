#include <coras/content/pack.hpp>

#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <set>
#include <utility>

namespace coras::content {

packed_artifact pack_artifact(std::vector<titled_blob> blobs, pack_options options) {
  packed_artifact out;
  out.config = empty_json_descriptor();
  std::set<std::string, std::less<>> titles;
  for (auto& b : blobs) {
    if (b.title.empty())
      throw error(errc::invalid_argument, "blob " + b.blob.digest.str() + " has an empty title");
    // Titles are the file names of a pull: two equal ones would overwrite
    // each other (or make the pull refuse the artifact).
    if (!titles.insert(b.title).second)
      throw error(errc::invalid_argument, "two blobs are titled \"" + b.title + "\"");
    b.blob.annotations.insert_or_assign(std::string(title_annotation), std::move(b.title));
    out.layers.push_back(std::move(b.blob));
  }
  // image-spec v1.1 (manifest.md, "Guidelines for Artifact Usage"): an
  // artifact with no payload lists the empty descriptor as its one layer.
  if (out.layers.empty()) out.layers.push_back(out.config);

  image_manifest m;
  m.media_type = media_type::oci_manifest;
  m.artifact_type = std::move(options.artifact_type);
  m.config = out.config;
  m.layers = out.layers;
  m.subject = std::move(options.subject);
  m.annotations = std::move(options.annotations);
  out.manifest_json = m.to_json();
  out.manifest = descriptor::for_content(media_type::oci_manifest, out.manifest_json);
  out.manifest.artifact_type = std::move(m.artifact_type);
  out.manifest.annotations = std::move(m.annotations);
  return out;
}

}  // namespace coras::content

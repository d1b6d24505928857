/// @file
/// Packing files into an artifact the way `oras push` does: an OCI image
/// manifest with the empty config (`application/vnd.oci.empty.v1+json`, the
/// two bytes `{}`), one layer per file titled with its name, and optionally
/// an `artifactType`, annotations and a subject (image-spec v1.1 "Guidelines
/// for Artifact Usage"; oras-go's `PackManifest`).
///
/// Packing only builds the document: it does no I/O and knows no store. The
/// caller pushes the layers' blobs, then the config (`coras::empty_json`,
/// unless the target has it), then `manifest_json` under `manifest`, to any
/// store or repository.
#pragma once

#include <coras/content/titles.hpp>
#include <coras/core/descriptor.hpp>

#include <optional>
#include <string>
#include <vector>

namespace coras::content {

/// A blob to pack and the title its layer gets (`title_annotation`).
struct titled_blob {
  descriptor blob;    ///< media type, digest and size; its annotations are kept
  std::string title;  ///< the file name a pull writes it to (non-empty)
};

/// What goes into the manifest besides its layers. Defaults in the members.
struct pack_options {
  /// The manifest's `artifactType` (a media type); empty: none. Unlike
  /// oras-go, an empty one is allowed (the manifest then has no
  /// `artifactType` member, as `coras push` without `--artifact-type`).
  std::string artifact_type;
  /// The manifest's `annotations`; none by default. Nothing is added (no
  /// `org.opencontainers.image.created`), so packing the same files twice
  /// gives the same digest.
  ::coras::annotations annotations;
  /// The manifest this artifact refers to (a signature's image, say).
  std::optional<descriptor> subject;
};

/// An artifact's manifest, ready to push.
struct packed_artifact {
  /// `empty_json_descriptor()`: the config, whose content is
  /// `coras::empty_json`. Push it before the manifest unless present.
  descriptor config;
  /// The layers, in the order given, each with its title annotation.
  std::vector<descriptor> layers;
  /// The image manifest (`application/vnd.oci.image.manifest.v1+json`),
  /// serialized deterministically (`image_manifest::to_json`).
  std::string manifest_json;
  /// `manifest_json`'s descriptor: media type, digest and size, plus the
  /// manifest's `artifactType` and annotations (as a referrers list shows it).
  descriptor manifest;
};

/// Packs `blobs` (in that order) into an artifact manifest; see the file
/// comment. Each layer is its blob's descriptor with
/// `title_annotation` set to the title (replacing one it had). With no
/// blobs, the one layer is the empty descriptor (the config's blob, untitled),
/// as image-spec v1.1 advises for artifacts without a payload.
///
/// Throws `coras::error` with `errc::invalid_argument` when a title is
/// empty ("blob D has an empty title") or two blobs share one ("two blobs
/// are titled \"T\""): a pull could not write them both. Titles are not
/// checked further; a pull refuses unsafe ones (`titled_layer_targets`).
/// Pure; thread-safe.
packed_artifact pack_artifact(std::vector<titled_blob> blobs, pack_options options = {});

}  // namespace coras::content

// Manifest and index documents: the OCI image manifest, image index and 1.1-rc
// artifact manifest, and Docker's v2 manifest and manifest list (which share the
// OCI shapes and differ by media type).
//
// Parsing checks the structure the specs require and reports the JSON path of
// the first problem (`layers[2].digest: …`). Serialization is deterministic: the
// same value always gives the same bytes (fixed member order, sorted
// annotations, no whitespace), so a digest computed over it is stable.
#pragma once

#include <coras/core/descriptor.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras {

/// OCI image manifest, or Docker v2 schema 2 manifest (`media_type` tells which).
struct image_manifest {
  int schema_version = 2;
  std::string media_type;     ///< may be empty in documents that omit it
  std::string artifact_type;  ///< OCI 1.1
  descriptor config;
  std::vector<descriptor> layers;
  std::optional<descriptor> subject;  ///< OCI 1.1: the manifest this one refers to
  ::coras::annotations annotations;

  /// Throws `coras::error` (errc::invalid_manifest) naming the JSON path at fault.
  static image_manifest parse(std::string_view json);
  static boost::system::result<image_manifest> try_parse(std::string_view json,
                                                         std::string* why = nullptr);
  std::string to_json() const;

  friend bool operator==(const image_manifest&, const image_manifest&) = default;
};

/// OCI image index, or Docker manifest list (`media_type` tells which).
struct image_index {
  int schema_version = 2;
  std::string media_type;
  std::string artifact_type;
  std::vector<descriptor> manifests;
  std::optional<descriptor> subject;
  ::coras::annotations annotations;

  static image_index parse(std::string_view json);
  static boost::system::result<image_index> try_parse(std::string_view json,
                                                      std::string* why = nullptr);
  std::string to_json() const;

  friend bool operator==(const image_index&, const image_index&) = default;
};

/// The OCI 1.1 release candidates' artifact manifest
/// (`application/vnd.oci.artifact.manifest.v1+json`).
struct artifact_manifest {
  std::string media_type{"application/vnd.oci.artifact.manifest.v1+json"};
  std::string artifact_type;
  std::vector<descriptor> blobs;
  std::optional<descriptor> subject;
  ::coras::annotations annotations;

  static artifact_manifest parse(std::string_view json);
  static boost::system::result<artifact_manifest> try_parse(std::string_view json,
                                                            std::string* why = nullptr);
  std::string to_json() const;

  friend bool operator==(const artifact_manifest&, const artifact_manifest&) = default;
};

/// A descriptor as a JSON object, and back (same rules as inside documents).
std::string to_json(const descriptor& d);
descriptor parse_descriptor(std::string_view json);

/// What the referrers machinery needs of any manifest, whatever its type: the
/// `mediaType`, `artifactType`, `config.mediaType`, `subject` and
/// `annotations` members. Only those members are checked.
struct manifest_summary {
  std::string media_type;
  std::string artifact_type;
  std::string config_media_type;
  std::optional<descriptor> subject;
  ::coras::annotations annotations;
};
manifest_summary summarize_manifest(std::string_view json);

}  // namespace coras

/// @file
/// Manifest and index documents: the OCI image manifest, image index and 1.1-rc
/// artifact manifest, and Docker's v2 manifest and manifest list (which share the
/// OCI shapes and differ by media type).
///
/// Parsing checks the structure the specs require and reports the JSON path of
/// the first problem (`layers[2].digest: …`). Serialization is deterministic: the
/// same value always gives the same bytes (fixed member order, sorted
/// annotations, no whitespace), so a digest computed over it is stable.
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
  int schema_version = 2;             ///< `schemaVersion`; parsing requires 2
  std::string media_type;             ///< may be empty in documents that omit it
  std::string artifact_type;          ///< OCI 1.1
  descriptor config;                  ///< the config blob
  std::vector<descriptor> layers;     ///< the layers, in order
  std::optional<descriptor> subject;  ///< OCI 1.1: the manifest this one refers to
  ::coras::annotations annotations;   ///< `annotations`, sorted

  /// Throws `coras::error` (errc::invalid_manifest) naming the JSON path at fault.
  static image_manifest parse(std::string_view json);
  /// Non-throwing parse: `errc::invalid_manifest` on failure; `why` (when
  /// given) receives the message naming the JSON path at fault.
  static boost::system::result<image_manifest> try_parse(std::string_view json,
                                                         std::string* why = nullptr);
  /// The document as JSON, deterministic (see the file comment).
  std::string to_json() const;

  /// Member-wise equality.
  friend bool operator==(const image_manifest&, const image_manifest&) = default;
};

/// OCI image index, or Docker manifest list (`media_type` tells which).
struct image_index {
  int schema_version = 2;             ///< `schemaVersion`; parsing requires 2
  std::string media_type;             ///< may be empty in documents that omit it
  std::string artifact_type;          ///< OCI 1.1
  std::vector<descriptor> manifests;  ///< the manifests, in order
  std::optional<descriptor> subject;  ///< OCI 1.1: the manifest this one refers to
  ::coras::annotations annotations;   ///< `annotations`, sorted

  /// Throws `coras::error` (errc::invalid_manifest) naming the JSON path at fault.
  static image_index parse(std::string_view json);
  /// Non-throwing parse: `errc::invalid_manifest` on failure; `why` (when
  /// given) receives the message naming the JSON path at fault.
  static boost::system::result<image_index> try_parse(std::string_view json,
                                                      std::string* why = nullptr);
  /// The document as JSON, deterministic (see the file comment).
  std::string to_json() const;

  /// Member-wise equality.
  friend bool operator==(const image_index&, const image_index&) = default;
};

/// The OCI 1.1 release candidates' artifact manifest
/// (`application/vnd.oci.artifact.manifest.v1+json`).
struct artifact_manifest {
  /// `mediaType`
  std::string media_type{"application/vnd.oci.artifact.manifest.v1+json"};
  std::string artifact_type;          ///< `artifactType`
  std::vector<descriptor> blobs;      ///< the blobs, in order
  std::optional<descriptor> subject;  ///< the manifest this one refers to
  ::coras::annotations annotations;   ///< `annotations`, sorted

  /// Throws `coras::error` (errc::invalid_manifest) naming the JSON path at fault.
  static artifact_manifest parse(std::string_view json);
  /// Non-throwing parse: `errc::invalid_manifest` on failure; `why` (when
  /// given) receives the message naming the JSON path at fault.
  static boost::system::result<artifact_manifest> try_parse(std::string_view json,
                                                            std::string* why = nullptr);
  /// The document as JSON, deterministic (see the file comment).
  std::string to_json() const;

  /// Member-wise equality.
  friend bool operator==(const artifact_manifest&, const artifact_manifest&) = default;
};

/// A descriptor as a JSON object (same rules as inside documents).
std::string to_json(const descriptor& d);
/// A descriptor from a JSON object (same rules as inside documents); throws
/// `coras::error` (errc::invalid_manifest) naming the member at fault.
descriptor parse_descriptor(std::string_view json);

/// What the referrers machinery needs of any manifest, whatever its type: the
/// `mediaType`, `artifactType`, `config.mediaType`, `subject` and
/// `annotations` members. Only those members are checked.
struct manifest_summary {
  std::string media_type;             ///< `mediaType`, empty when absent
  std::string artifact_type;          ///< `artifactType`, empty when absent
  std::string config_media_type;      ///< `config.mediaType`, empty when absent
  std::optional<descriptor> subject;  ///< `subject`, when present
  ::coras::annotations annotations;   ///< `annotations`
};
/// Reads the `manifest_summary` members of any manifest document; throws
/// `coras::error` (errc::invalid_manifest) when they are malformed.
manifest_summary summarize_manifest(std::string_view json);

}  // namespace coras

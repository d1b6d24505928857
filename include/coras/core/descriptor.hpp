/// @file
/// The OCI content descriptor and platform.
#pragma once

#include <coras/core/digest.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras {

/// Annotations are kept sorted so that serialization is deterministic.
using annotations = std::map<std::string, std::string, std::less<>>;

/// Where an image runs (`platform` in an index entry).
struct platform {
  std::string architecture;              ///< e.g. "amd64", "arm64"
  std::string os;                        ///< e.g. "linux"
  std::string os_version;                ///< "os.version"
  std::vector<std::string> os_features;  ///< "os.features"
  std::string variant;                   ///< e.g. "v8"; may be empty
  std::vector<std::string> features;     ///< "features"

  /// Member-wise equality.
  friend bool operator==(const platform&, const platform&) = default;
};

/// An OCI content descriptor: what a piece of content is, its digest and size.
struct descriptor {
  std::string media_type;         ///< `mediaType`
  ::coras::digest digest;         ///< `digest` of the content
  std::int64_t size = 0;          ///< `size` of the content in bytes
  std::vector<std::string> urls;  ///< `urls`, other places to fetch it from
  /// `annotations`, sorted.
  ::coras::annotations annotations;
  /// Embedded content, already base64-decoded; `std::nullopt` when absent.
  std::optional<std::string> data;
  std::optional<::coras::platform> platform;  ///< `platform`, in index entries
  std::string artifact_type;                  ///< `artifactType` (OCI 1.1)

  /// A descriptor for `content`: its sha256 digest and size.
  static descriptor for_content(std::string_view media_type, std::string_view content);

  /// Member-wise equality.
  friend bool operator==(const descriptor&, const descriptor&) = default;
};

/// The descriptor of the empty JSON config (`{}`, `application/vnd.oci.empty.v1+json`).
descriptor empty_json_descriptor();

}  // namespace coras

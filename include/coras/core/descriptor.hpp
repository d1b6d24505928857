// The OCI content descriptor and platform.
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
  std::string architecture;
  std::string os;
  std::string os_version;                ///< "os.version"
  std::vector<std::string> os_features;  ///< "os.features"
  std::string variant;
  std::vector<std::string> features;

  friend bool operator==(const platform&, const platform&) = default;
};

/// An OCI content descriptor: what a piece of content is, its digest and size.
struct descriptor {
  std::string media_type;
  ::coras::digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls;
  ::coras::annotations annotations;
  /// Embedded content, already base64-decoded; `std::nullopt` when absent.
  std::optional<std::string> data;
  std::optional<::coras::platform> platform;
  std::string artifact_type;

  /// A descriptor for `content`: its sha256 digest and size.
  static descriptor for_content(std::string_view media_type, std::string_view content);

  friend bool operator==(const descriptor&, const descriptor&) = default;
};

/// The descriptor of the empty JSON config (`{}`, `application/vnd.oci.empty.v1+json`).
descriptor empty_json_descriptor();

}  // namespace coras

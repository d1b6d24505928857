/// @file
/// Media types of the OCI image spec and of Docker's image manifest v2, schema 2.
#pragma once

#include <string_view>

namespace coras::media_type {

// OCI image spec v1.1
/// OCI image manifest.
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar.
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar.
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The empty JSON object `{}` used as config of artifacts with no config.
inline constexpr std::string_view oci_empty = "application/vnd.oci.empty.v1+json";
/// The OCI 1.1 release candidates' artifact manifest. Dropped from the final
/// 1.1 spec and refused by distribution 2.8, but still found in the wild.
inline constexpr std::string_view oci_artifact_manifest =
    "application/vnd.oci.artifact.manifest.v1+json";

// Docker image manifest v2, schema 2
/// Docker image manifest v2, schema 2.
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (the multi-platform index).
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip-compressed tar.
inline constexpr std::string_view docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// True for the media types that name a manifest or an index (the documents a
/// registry stores under /manifests/), false for blobs.
bool is_manifest(std::string_view media_type) noexcept;

/// True for the OCI index and the Docker manifest list.
bool is_index(std::string_view media_type) noexcept;

}  // namespace coras::media_type

namespace coras {
/// The content of an `oci_empty` blob: the two bytes `{}`.
inline constexpr std::string_view empty_json = "{}";
}  // namespace coras

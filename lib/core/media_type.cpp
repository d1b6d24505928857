#include <coras/core/media_type.hpp>

namespace coras {

bool media_type::is_manifest(std::string_view t) noexcept {
  return t == oci_manifest || t == oci_index || t == docker_manifest || t == docker_manifest_list ||
         t == oci_artifact_manifest;
}

bool media_type::is_index(std::string_view t) noexcept {
  return t == oci_index || t == docker_manifest_list;
}

}  // namespace coras

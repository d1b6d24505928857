#include <coras/core/descriptor.hpp>
#include <coras/core/media_type.hpp>

namespace coras {

descriptor descriptor::for_content(std::string_view media_type, std::string_view content) {
  descriptor d;
  d.media_type = media_type;
  d.digest = digest::of(content);
  d.size = static_cast<std::int64_t>(content.size());
  return d;
}

descriptor empty_json_descriptor() {
  return descriptor::for_content(media_type::oci_empty, empty_json);
}

}  // namespace coras

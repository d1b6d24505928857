// Boost.JSON conversions of the core models. Private to lib/: public headers
// speak strings so that users do not compile Boost.JSON.
//
// Decoding throws `json_decode_error` carrying the JSON path of the fault
// ("layers[2].digest: …"); the public parse functions turn it into
// errc::invalid_manifest. Encoding writes members in a fixed order and omits
// empty optional members, as Go's encoding/json does with `omitempty`.
#pragma once

#include <coras/core/descriptor.hpp>
#include <coras/core/manifest.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>

namespace coras::detail {

struct json_decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses `text` as JSON (default depth limit); throws json_decode_error.
boost::json::value parse_json(std::string_view text);

descriptor decode_descriptor(const boost::json::value& v, const std::string& path);
boost::json::object encode_descriptor(const descriptor& d);

image_manifest decode_image_manifest(const boost::json::value& v);
image_index decode_image_index(const boost::json::value& v);
artifact_manifest decode_artifact_manifest(const boost::json::value& v);

boost::json::object encode(const image_manifest& m);
boost::json::object encode(const image_index& m);
boost::json::object encode(const artifact_manifest& m);

}  // namespace coras::detail

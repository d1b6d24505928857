#include "base64.hpp"
#include "json_codec.hpp"

#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <limits>

namespace coras::detail {
namespace json = boost::json;
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw json_decode_error(path.empty() ? what : path + ": " + what);
}

std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

const json::object& expect_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) fail(path, "expected an object, found " + std::string(kind_name(v)));
  return v.get_object();
}

const json::value* find(const json::object& o, std::string_view key) { return o.if_contains(key); }

// Optional string member: absent or null gives "".
std::string get_string(const json::object& o, std::string_view key, const std::string& path) {
  const auto* v = find(o, key);
  if (!v || v->is_null()) return {};
  if (!v->is_string())
    fail(member_path(path, key), "expected a string, found " + std::string(kind_name(*v)));
  return std::string(v->get_string());
}

std::string require_string(const json::object& o, std::string_view key, const std::string& path) {
  const auto* v = find(o, key);
  if (!v || v->is_null()) fail(member_path(path, key), "required member is missing");
  return get_string(o, key, path);
}

std::vector<std::string> get_strings(const json::object& o, std::string_view key,
                                     const std::string& path) {
  std::vector<std::string> out;
  const auto* v = find(o, key);
  if (!v || v->is_null()) return out;
  auto p = member_path(path, key);
  if (!v->is_array()) fail(p, "expected an array, found " + std::string(kind_name(*v)));
  const auto& arr = v->get_array();
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string())
      fail(p + "[" + std::to_string(i) + "]",
           "expected a string, found " + std::string(kind_name(arr[i])));
    out.emplace_back(arr[i].get_string());
  }
  return out;
}

annotations get_annotations(const json::object& o, const std::string& path) {
  annotations out;
  const auto* v = find(o, "annotations");
  if (!v || v->is_null()) return out;
  auto p = member_path(path, "annotations");
  for (const auto& kv : expect_object(*v, p)) {
    if (!kv.value().is_string())
      fail(member_path(p, kv.key()),
           "annotation values must be strings, found " + std::string(kind_name(kv.value())));
    out.insert_or_assign(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return out;
}

std::int64_t require_size(const json::object& o, const std::string& path) {
  auto p = member_path(path, "size");
  const auto* v = find(o, "size");
  if (!v || v->is_null()) fail(p, "required member is missing");
  if (v->is_int64()) {
    if (v->get_int64() < 0) fail(p, "size is negative");
    return v->get_int64();
  }
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(p, "size does not fit in 63 bits");
    return static_cast<std::int64_t>(v->get_uint64());
  }
  fail(p,
       "expected an integer, found " + std::string(v->is_double() ? "a fraction" : kind_name(*v)));
}

platform decode_platform(const json::value& v, const std::string& path) {
  const auto& o = expect_object(v, path);
  platform p;
  p.architecture = require_string(o, "architecture", path);
  p.os = require_string(o, "os", path);
  p.os_version = get_string(o, "os.version", path);
  p.os_features = get_strings(o, "os.features", path);
  p.variant = get_string(o, "variant", path);
  p.features = get_strings(o, "features", path);
  return p;
}

json::object encode_platform(const platform& p) {
  json::object o;
  o["architecture"] = p.architecture;
  o["os"] = p.os;
  if (!p.os_version.empty()) o["os.version"] = p.os_version;
  if (!p.os_features.empty()) o["os.features"] = json::value_from(p.os_features);
  if (!p.variant.empty()) o["variant"] = p.variant;
  if (!p.features.empty()) o["features"] = json::value_from(p.features);
  return o;
}

json::object encode_annotations(const annotations& a) {
  json::object o;
  for (const auto& [k, v] : a) o[k] = v;
  return o;
}

std::optional<descriptor> get_subject(const json::object& o) {
  const auto* v = find(o, "subject");
  if (!v || v->is_null()) return std::nullopt;
  return decode_descriptor(*v, "subject");
}

std::vector<descriptor> get_descriptors(const json::object& o, std::string_view key,
                                        bool required) {
  std::vector<descriptor> out;
  const auto* v = find(o, key);
  if (!v || v->is_null()) {
    if (required) fail(std::string(key), "required member is missing");
    return out;
  }
  if (!v->is_array())
    fail(std::string(key), "expected an array, found " + std::string(kind_name(*v)));
  const auto& arr = v->get_array();
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i)
    out.push_back(decode_descriptor(arr[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return out;
}

json::array encode_descriptors(const std::vector<descriptor>& ds) {
  json::array arr;
  arr.reserve(ds.size());
  for (const auto& d : ds) arr.emplace_back(encode_descriptor(d));
  return arr;
}

void check_schema_version(const json::object& o) {
  const auto* v = find(o, "schemaVersion");
  if (!v) fail("schemaVersion", "required member is missing");
  if (!(v->is_int64() && v->get_int64() == 2) && !(v->is_uint64() && v->get_uint64() == 2))
    fail("schemaVersion", "must be 2, found " + json::serialize(*v));
}

void check_media_type(const std::string& found, std::initializer_list<std::string_view> allowed,
                      std::string_view what) {
  if (found.empty()) return;  // optional in the OCI documents
  for (auto a : allowed)
    if (found == a) return;
  fail("mediaType", "\"" + found + "\" is not " + std::string(what));
}

}  // namespace

json::value parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw json_decode_error("not valid JSON: " + ec.message());
  return v;
}

descriptor decode_descriptor(const json::value& v, const std::string& path) {
  const auto& o = expect_object(v, path);
  descriptor d;
  d.media_type = require_string(o, "mediaType", path);
  auto digest_text = require_string(o, "digest", path);
  std::string why;
  auto parsed = digest::try_parse(digest_text, &why);
  if (!parsed) fail(member_path(path, "digest"), why);
  d.digest = std::move(*parsed);
  d.size = require_size(o, path);
  d.urls = get_strings(o, "urls", path);
  d.annotations = get_annotations(o, path);
  if (const auto* data = find(o, "data"); data && !data->is_null()) {
    if (!data->is_string()) fail(member_path(path, "data"), "expected a base64 string");
    auto bytes = base64_decode(data->get_string());
    if (!bytes) fail(member_path(path, "data"), "not valid base64");
    d.data = std::move(*bytes);
  }
  if (const auto* p = find(o, "platform"); p && !p->is_null())
    d.platform = decode_platform(*p, member_path(path, "platform"));
  d.artifact_type = get_string(o, "artifactType", path);
  return d;
}

// Member order follows the image spec's Go types, so documents look the same
// as those oras-go writes.
json::object encode_descriptor(const descriptor& d) {
  json::object o;
  o["mediaType"] = d.media_type;
  o["digest"] = d.digest.str();
  o["size"] = d.size;
  if (!d.urls.empty()) o["urls"] = json::value_from(d.urls);
  if (!d.annotations.empty()) o["annotations"] = encode_annotations(d.annotations);
  if (d.data && !d.data->empty()) o["data"] = base64_encode(*d.data);
  if (d.platform) o["platform"] = encode_platform(*d.platform);
  if (!d.artifact_type.empty()) o["artifactType"] = d.artifact_type;
  return o;
}

image_manifest decode_image_manifest(const json::value& v) {
  const auto& o = expect_object(v, "");
  check_schema_version(o);
  image_manifest m;
  m.media_type = get_string(o, "mediaType", "");
  check_media_type(m.media_type, {media_type::oci_manifest, media_type::docker_manifest},
                   "an image manifest type");
  m.artifact_type = get_string(o, "artifactType", "");
  const auto* config = find(o, "config");
  if (!config || config->is_null()) fail("config", "required member is missing");
  m.config = decode_descriptor(*config, "config");
  m.layers = get_descriptors(o, "layers", false);
  m.subject = get_subject(o);
  m.annotations = get_annotations(o, "");
  return m;
}

image_index decode_image_index(const json::value& v) {
  const auto& o = expect_object(v, "");
  check_schema_version(o);
  image_index m;
  m.media_type = get_string(o, "mediaType", "");
  check_media_type(m.media_type, {media_type::oci_index, media_type::docker_manifest_list},
                   "an index type");
  m.artifact_type = get_string(o, "artifactType", "");
  m.manifests = get_descriptors(o, "manifests", true);
  m.subject = get_subject(o);
  m.annotations = get_annotations(o, "");
  return m;
}

artifact_manifest decode_artifact_manifest(const json::value& v) {
  const auto& o = expect_object(v, "");
  artifact_manifest m;
  m.media_type = require_string(o, "mediaType", "");
  check_media_type(m.media_type, {media_type::oci_artifact_manifest}, "the artifact manifest type");
  m.artifact_type = get_string(o, "artifactType", "");
  m.blobs = get_descriptors(o, "blobs", false);
  m.subject = get_subject(o);
  m.annotations = get_annotations(o, "");
  return m;
}

json::object encode(const image_manifest& m) {
  json::object o;
  o["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) o["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) o["artifactType"] = m.artifact_type;
  o["config"] = encode_descriptor(m.config);
  o["layers"] = encode_descriptors(m.layers);
  if (m.subject) o["subject"] = encode_descriptor(*m.subject);
  if (!m.annotations.empty()) o["annotations"] = encode_annotations(m.annotations);
  return o;
}

json::object encode(const image_index& m) {
  json::object o;
  o["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) o["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) o["artifactType"] = m.artifact_type;
  o["manifests"] = encode_descriptors(m.manifests);
  if (m.subject) o["subject"] = encode_descriptor(*m.subject);
  if (!m.annotations.empty()) o["annotations"] = encode_annotations(m.annotations);
  return o;
}

json::object encode(const artifact_manifest& m) {
  json::object o;
  o["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) o["artifactType"] = m.artifact_type;
  if (!m.blobs.empty()) o["blobs"] = encode_descriptors(m.blobs);
  if (m.subject) o["subject"] = encode_descriptor(*m.subject);
  if (!m.annotations.empty()) o["annotations"] = encode_annotations(m.annotations);
  return o;
}

}  // namespace coras::detail

namespace coras {
namespace {

// One shape for the three documents' parse/try_parse pairs.
template <class T, class Decode>
boost::system::result<T> try_decode(std::string_view text, std::string* why, Decode decode) {
  try {
    return decode(detail::parse_json(text));
  } catch (const detail::json_decode_error& e) {
    if (why) *why = std::string("invalid manifest: ") + e.what();
    return make_error_code(errc::invalid_manifest);
  }
}

template <class T>
T value_or_throw(boost::system::result<T> r, const std::string& why) {
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

}  // namespace

boost::system::result<image_manifest> image_manifest::try_parse(std::string_view json,
                                                                std::string* why) {
  return try_decode<image_manifest>(json, why, detail::decode_image_manifest);
}
image_manifest image_manifest::parse(std::string_view json) {
  std::string why;
  return value_or_throw(try_parse(json, &why), why);
}
std::string image_manifest::to_json() const {
  return boost::json::serialize(detail::encode(*this));
}

boost::system::result<image_index> image_index::try_parse(std::string_view json, std::string* why) {
  return try_decode<image_index>(json, why, detail::decode_image_index);
}
image_index image_index::parse(std::string_view json) {
  std::string why;
  return value_or_throw(try_parse(json, &why), why);
}
std::string image_index::to_json() const { return boost::json::serialize(detail::encode(*this)); }

boost::system::result<artifact_manifest> artifact_manifest::try_parse(std::string_view json,
                                                                      std::string* why) {
  return try_decode<artifact_manifest>(json, why, detail::decode_artifact_manifest);
}
artifact_manifest artifact_manifest::parse(std::string_view json) {
  std::string why;
  return value_or_throw(try_parse(json, &why), why);
}
std::string artifact_manifest::to_json() const {
  return boost::json::serialize(detail::encode(*this));
}

std::string to_json(const descriptor& d) {
  return boost::json::serialize(detail::encode_descriptor(d));
}

descriptor parse_descriptor(std::string_view json) {
  std::string why;
  auto decode = [](const boost::json::value& v) { return detail::decode_descriptor(v, ""); };
  return value_or_throw(try_decode<descriptor>(json, &why, decode), why);
}

manifest_summary summarize_manifest(std::string_view json) {
  std::string why;
  auto decode = [](const boost::json::value& v) {
    const auto& o = detail::expect_object(v, "");
    manifest_summary s;
    s.media_type = detail::get_string(o, "mediaType", "");
    s.artifact_type = detail::get_string(o, "artifactType", "");
    if (const auto* c = o.if_contains("config"); c && !c->is_null())
      s.config_media_type =
          detail::get_string(detail::expect_object(*c, "config"), "mediaType", "config");
    s.subject = detail::get_subject(o);
    s.annotations = detail::get_annotations(o, "");
    return s;
  };
  return value_or_throw(try_decode<manifest_summary>(json, &why, decode), why);
}

}  // namespace coras

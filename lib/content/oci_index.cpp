#include "oci_index.hpp"

#include "common.hpp"

#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <unordered_map>
#include <unordered_set>

namespace coras::content::detail {

namespace {
constexpr std::string_view layout_version = "1.0.0";
}

const std::string* ref_name_of(const descriptor& d) {
  auto it = d.annotations.find(ref_name_annotation);
  return it == d.annotations.end() ? nullptr : &it->second;
}

descriptor strip_ref_name(descriptor d) {
  if (auto it = d.annotations.find(ref_name_annotation); it != d.annotations.end())
    d.annotations.erase(it);
  return d;
}

oci_index empty_oci_index() {
  oci_index out;
  out.base.media_type = std::string(media_type::oci_index);
  return out;
}

oci_index parse_oci_index(std::string_view text, const std::string& where) {
  std::string why;
  auto doc = image_index::try_parse(text, &why);
  if (!doc) throw error(errc::invalid_manifest, where + ": " + why);
  oci_index out;
  out.base = std::move(*doc);
  std::unordered_map<std::string, std::size_t> by_name;  // name -> position in `named`
  for (auto& d : out.base.manifests) {
    if (const auto* name = ref_name_of(d)) {
      auto [it, added] = by_name.try_emplace(*name, out.named.size());
      if (added)
        out.named.push_back(std::move(d));
      else
        out.named[it->second] = std::move(d);  // a repeated name: the later entry wins
    } else {
      out.others.push_back(std::move(d));
    }
  }
  out.base.manifests.clear();
  if (out.base.media_type.empty()) out.base.media_type = std::string(media_type::oci_index);
  return out;
}

std::string render_oci_index(const oci_index& index) {
  image_index doc = index.base;
  doc.manifests = index.named;
  std::unordered_set<std::string> covered;
  covered.reserve(index.named.size());
  for (const auto& d : index.named) covered.insert(d.digest.str());
  for (const auto& d : index.others)
    if (!covered.contains(d.digest.str())) doc.manifests.push_back(d);
  return doc.to_json();
}

void check_layout_file(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  const boost::json::value* version = nullptr;
  if (!ec && v.is_object()) version = v.get_object().if_contains("imageLayoutVersion");
  if (!version || !version->is_string())
    throw error(errc::unsupported,
                "oci-layout is not a JSON object with a string imageLayoutVersion");
  if (version->get_string() != layout_version)
    throw error(errc::unsupported, "oci-layout: imageLayoutVersion \"" +
                                       std::string(version->get_string()) +
                                       "\" is not supported (only 1.0.0)");
}

}  // namespace coras::content::detail

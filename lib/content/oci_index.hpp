// index.json and oci-layout of an OCI image layout as pure functions: text
// to state and back, no I/O (the layout store, oci_layout.cpp, does the
// files). Unit-tested in test/unit/content/oci_index_test.cpp.
#pragma once

#include <coras/core/descriptor.hpp>
#include <coras/core/manifest.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace coras::content::detail {

/// index.json, split: `named` holds the entries with an
/// `org.opencontainers.image.ref.name` (one per name), `others` every entry
/// without one. The file lists `named` + the others whose digest no name
/// covers, so an unnamed entry comes back when its last name moves away.
struct oci_index {
  image_index base;  ///< the top-level members; `manifests` unused
  std::vector<descriptor> named;
  std::vector<descriptor> others;
};

/// The entry's ref.name annotation, or nullptr.
const std::string* ref_name_of(const descriptor& d);
/// `d` without its ref.name annotation.
descriptor strip_ref_name(descriptor d);

/// An empty index (media type `application/vnd.oci.image.index.v1+json`).
oci_index empty_oci_index();

/// Parses index.json. A repeated name: the later entry wins (as a rewrite
/// would keep it). Throws `coras::error` (`errc::invalid_manifest`, the
/// message starting with `where`) when the text is not an image index.
oci_index parse_oci_index(std::string_view text, const std::string& where);

/// The index.json text of `index`: its named entries, then the others whose
/// digest no named entry has. Linear in the number of entries.
std::string render_oci_index(const oci_index& index);

/// Checks an `oci-layout` file: a JSON object whose `imageLayoutVersion` is
/// "1.0.0"; `errc::unsupported` otherwise.
void check_layout_file(std::string_view text);

}  // namespace coras::content::detail

// An OCI image layout's index.json (and oci-layout), as another tool may
// have written it. Invariants: a parsed index renders to one that parses to
// the same entries (rendering is a fixed point after one pass); named
// entries have distinct names; no digest is listed twice among the
// unnamed ones that a named entry already covers.
#include "fuzz.hpp"

#include "content/oci_index.hpp"

#include <coras/core/error.hpp>

#include <set>

using coras::fuzz::require;
namespace d = coras::content::detail;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  try {
    d::check_layout_file(input);
  } catch (const coras::error&) {
  }
  d::oci_index index;
  try {
    index = d::parse_oci_index(input, "index.json");
  } catch (const coras::error&) {
    return 0;
  }
  std::set<std::string> names;
  for (const auto& e : index.named) {
    const auto* name = d::ref_name_of(e);
    require(name != nullptr, "a named entry has a name", input);
    require(names.insert(*name).second, "names are distinct", *name);
    require(d::ref_name_of(d::strip_ref_name(e)) == nullptr, "strip_ref_name strips", input);
  }
  for (const auto& e : index.others) require(!d::ref_name_of(e), "others have no name", input);
  const auto text = d::render_oci_index(index);
  d::oci_index again;
  try {
    again = d::parse_oci_index(text, "rendered");
  } catch (const coras::error& e) {
    coras::fuzz::fail("a rendered index parses", std::string(e.what()) + "\n" + text);
  }
  require(again.named == index.named, "named entries survive rendering", text);
  require(d::render_oci_index(again) == text, "rendering is a fixed point", text);
  std::set<std::string> covered;
  for (const auto& e : again.named) covered.insert(e.digest.str());
  for (const auto& e : again.others)
    require(!covered.contains(e.digest.str()), "an unnamed entry is not a named one's twin", text);
  return 0;
}

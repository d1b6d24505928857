// Manifest, index, artifact manifest and descriptor JSON as registries and
// layouts serve them. Invariants: what parses writes back (to_json) to JSON
// that parses to an equal value and writes back byte for byte (a fixed
// point); descriptors inside have canonical digests and non-negative sizes;
// the summary the referrers code reads agrees with the full parse.
#include "fuzz.hpp"

#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>

#include <string>

using coras::fuzz::require;

namespace {

void check_descriptor(const coras::descriptor& d, std::string_view input) {
  require(d.size >= 0, "sizes are not negative", input);
  auto again = coras::digest::try_parse(d.digest.str());
  require(again && *again == d.digest, "digests re-validate", input);
}

template <class T>
void round_trip(std::string_view input) {
  auto m = T::try_parse(input);
  if (!m) return;
  const auto json = m->to_json();
  std::string why;
  auto again = T::try_parse(json, &why);
  require(again.has_value(), "to_json output parses", json + "\n" + why);
  require(*again == *m, "parse -> to_json -> parse is stable", json);
  require(again->to_json() == json, "to_json is a fixed point", json);
  if (m->subject) check_descriptor(*m->subject, input);
  if constexpr (requires { m->layers; }) {
    check_descriptor(m->config, input);
    for (const auto& d : m->layers) check_descriptor(d, input);
  }
  if constexpr (requires { m->manifests; })
    for (const auto& d : m->manifests) check_descriptor(d, input);
  if constexpr (requires { m->blobs; })
    for (const auto& d : m->blobs) check_descriptor(d, input);
  // The summary reads a subset of what the full parse read.
  try {
    auto s = coras::summarize_manifest(input);
    require(s.subject == m->subject, "summary and parse agree on the subject", input);
    require(s.annotations == m->annotations, "summary and parse agree on annotations", input);
    require(s.artifact_type == m->artifact_type, "summary and parse agree on artifactType", input);
  } catch (const coras::error&) {
    coras::fuzz::fail("a parsed manifest summarizes", input);
  }
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  round_trip<coras::image_manifest>(input);
  round_trip<coras::image_index>(input);
  round_trip<coras::artifact_manifest>(input);
  try {
    const auto d = coras::parse_descriptor(input);
    check_descriptor(d, input);
    const auto json = coras::to_json(d);
    require(coras::parse_descriptor(json) == d, "descriptor parse -> to_json -> parse", json);
    require(coras::to_json(coras::parse_descriptor(json)) == json, "descriptor to_json is fixed",
            json);
  } catch (const coras::error&) {
  }
  try {
    (void)coras::summarize_manifest(input);
  } catch (const coras::error&) {
  }
  return 0;
}

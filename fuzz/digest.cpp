// A digest as registries send it (headers, descriptors, URLs). Only canonical
// forms are accepted, so a parsed digest prints back byte for byte, re-parses
// equal, and has the hex length of its algorithm. digest::of over the same
// bytes always yields a digest that parses.
#include "fuzz.hpp"

#include <coras/core/digest.hpp>

using coras::fuzz::require;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  std::string why;
  auto d = coras::digest::try_parse(input, &why);
  if (d) {
    require(d->str() == input, "a parsed digest prints as its input", input);
    auto again = coras::digest::try_parse(d->str());
    require(again && *again == *d, "a parsed digest re-validates", input);
    const std::size_t want = d->algorithm() == coras::digest_algorithm::sha256 ? 64 : 128;
    require(d->hex().size() == want, "hex length matches the algorithm", input);
    require(d->str() == std::string(d->algorithm_name()) + ":" + std::string(d->hex()),
            "str is algorithm:hex", input);
  } else {
    require(!why.empty(), "a refusal says why", input);
  }
  for (auto a : {coras::digest_algorithm::sha256, coras::digest_algorithm::sha512}) {
    const auto of = coras::digest::of(input, a);
    auto parsed = coras::digest::try_parse(of.str());
    require(parsed && *parsed == of, "digest::of parses", of.str());
  }
  return 0;
}

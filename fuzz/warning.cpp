// A `Warning` header value (the distribution spec's `299 - "text"`).
// Invariants: the text read is non-empty, comes from inside the value, and
// written back in the spec's form reads the same text again.
#include "fuzz.hpp"

#include "http/protocol.hpp"

using coras::fuzz::require;

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  auto text = coras::http::detail::parse_warning(input);
  if (!text) return 0;
  require(!text->empty(), "the text is not empty", input);
  require(text->size() + 8 <= input.size(), "the text comes from inside the value", input);
  require(input.find(*text) != std::string_view::npos, "the text is part of the value", input);
  const auto again = coras::http::detail::parse_warning("299 - \"" + *text + "\"");
  require(again && *again == *text, "write -> parse is stable", *text);
  return 0;
}

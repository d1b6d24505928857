// The header grammars the client and the embedded registry share
// (lib/http/grammar.hpp): Range, Content-Range, the media type of a
// Content-Type.
#include "http/grammar.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace coras::http::grammar;

TEST_CASE("grammar: Range header", "[http][grammar]") {
  byte_range b;
  CHECK(parse_range("bytes=0-9", 100, b) == range_result::partial);
  CHECK((b.first == 0 && b.last == 9));
  CHECK(parse_range("bytes=90-", 100, b) == range_result::partial);
  CHECK((b.first == 90 && b.last == 99));
  CHECK(parse_range("bytes=90-500", 100, b) == range_result::partial);
  CHECK(b.last == 99);
  CHECK(parse_range("bytes=-10", 100, b) == range_result::partial);
  CHECK((b.first == 90 && b.last == 99));
  CHECK(parse_range("bytes=-500", 100, b) == range_result::partial);
  CHECK(b.first == 0);
  CHECK(parse_range("BYTES=1-1", 100, b) == range_result::partial);
  CHECK(parse_range("bytes=100-", 100, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=-0", 100, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=0-", 0, b) == range_result::unsatisfiable);
  CHECK(parse_range("bytes=5-1", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=1-2,4-5", 100, b) == range_result::whole);
  CHECK(parse_range("items=1-2", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=a-b", 100, b) == range_result::whole);
  CHECK(parse_range("bytes=99999999999999999999-", 100, b) == range_result::whole);
}

TEST_CASE("grammar: Content-Range of PATCH", "[http][grammar]") {
  auto r = parse_content_range("0-99");
  REQUIRE(r);
  CHECK((r->first == 0 && r->last == 99));
  r = parse_content_range("bytes 100-199/*");
  REQUIRE(r);
  CHECK(r->first == 100);
  CHECK_FALSE(parse_content_range("5-1"));
  CHECK_FALSE(parse_content_range("x"));
  CHECK_FALSE(parse_content_range("-5"));
}

namespace {

struct content_range_row {
  const char* name;
  std::string header;
  std::optional<byte_range> want;  // nullopt: refused
};

}  // namespace

// Every form one parser reads: a 206's `bytes a-b/total` (client), the upload
// status `Range: 0-<last>` (client) and a PATCH's `Content-Range` (server).
TEST_CASE("grammar: Content-Range forms", "[http][grammar]") {
  using r = byte_range;
  const std::vector<content_range_row> rows = {
      {"206 with a total", "bytes 0-99/100", r{0, 99, 100}},
      {"206 with an unknown total", "bytes 10-19/*", r{10, 19, std::nullopt}},
      {"206, unit in upper case", "Bytes 0-0/1", r{0, 0, 1}},
      {"206, spaces around the numbers", " bytes 5 - 9 / 10 ", r{5, 9, 10}},
      {"OCI form (PATCH, upload status)", "0-1048575", r{0, 1048575, std::nullopt}},
      {"empty session as distribution writes it", "0-0", r{0, 0, std::nullopt}},
      {"unit without total", "bytes 3-4", r{3, 4, std::nullopt}},
      {"Range syntax sent as Content-Range", "bytes=3-4", r{3, 4, std::nullopt}},
      {"last past the total", "bytes 0-100/100", std::nullopt},
      {"malformed total", "bytes 0-9/ten", std::nullopt},
      {"unsatisfied-range form", "bytes */100", std::nullopt},
      {"first after last", "bytes 9-0/10", std::nullopt},
      {"open-ended", "bytes 5-/10", std::nullopt},
      {"overflow", "0-99999999999999999999", std::nullopt},
      {"empty", "", std::nullopt},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto got = parse_content_range(row.header);
      REQUIRE(got.has_value() == row.want.has_value());
      if (!got) continue;
      CHECK(got->first == row.want->first);
      CHECK(got->last == row.want->last);
      CHECK(got->total == row.want->total);
    }
  }
}

TEST_CASE("grammar: Content-Type media types", "[http][grammar]") {
  CHECK(media_type_of("application/vnd.oci.image.manifest.v1+json") ==
        "application/vnd.oci.image.manifest.v1+json");
  CHECK(media_type_of("Application/JSON; charset=utf-8") == "application/json");
  CHECK(media_type_of("").empty());
  CHECK(media_type_of("text").empty());
  CHECK(media_type_of("a/b/c").empty());
  CHECK(media_type_of("a b/c").empty());
  CHECK(media_type_of("/json").empty());
  CHECK(media_type_of("application/").empty());
  CHECK(media_type_of("application/json\x7f").empty());
  CHECK(media_type_of("APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON") ==
        "application/vnd.oci.image.index.v1+json");
  // What the registry reads from a manifest PUT.
  CHECK(media_type_of(" application/vnd.oci.image.index.v1+json ; charset=utf-8") ==
        "application/vnd.oci.image.index.v1+json");
}

TEST_CASE("grammar: token characters", "[http][grammar]") {
  // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
  // "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
  const std::string_view punctuation = "!#$%&'*+-.^_`|~";
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool expected = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') ||
                          (i >= '0' && i <= '9') ||
                          (i != 0 && punctuation.find(c) != std::string_view::npos);
    INFO("byte " << i);
    CHECK(coras::http::grammar::is_tchar(c) == expected);
  }
}

TEST_CASE("grammar: optional whitespace", "[http][grammar]") {
  CHECK(trim_ows(" \t a b \t") == "a b");
  CHECK(trim_ows("").empty());
  CHECK(trim_ows(" \t ").empty());
}

// Sizes from the network (issue 17, item 4): checked_blob_size and
// checked_content_length as named rows; what they refuse is refused before
// anything is allocated, created or planned from it.
#include "remote/protocol.hpp"

#include <coras/core/error.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using coras::errc;
using coras::remote::detail::checked_blob_size;
using coras::remote::detail::checked_content_length;

namespace {

constexpr std::uint64_t TiB = 1ull << 40;

struct size_row {
  std::string name;
  std::int64_t size;
  std::uint64_t max;
  bool ok;
  errc want_error = errc::invalid_response;
  std::string mentions = {};
};

struct length_row {
  std::string name;
  std::uint64_t length;
  std::uint64_t max;
  bool ok;
  errc want_error = errc::invalid_response;
};

}  // namespace

TEST_CASE("remote: sizes from the network are checked against max_blob_bytes",
          "[remote][security][sizes]") {
  const std::vector<size_row> rows = {
      {"1. zero: fine", 0, TiB, true},
      {"2. 1 TiB with the 1 TiB default: fine", std::int64_t(TiB), TiB, true},
      {"3. 1 TiB + 1: too big, names the option", std::int64_t(TiB) + 1, TiB, false,
       errc::size_limit_exceeded, "repository_options::max_blob_bytes"},
      {"4. 2^60: too big, the size in the message", std::int64_t(1) << 60, TiB, false,
       errc::size_limit_exceeded, "1152921504606846976"},
      {"5. int64 max without a limit: fine", std::numeric_limits<std::int64_t>::max(), 0, true},
      {"6. -1: negative", -1, TiB, false, errc::invalid_response, "negative"},
      {"7. int64 min: negative", std::numeric_limits<std::int64_t>::min(), 0, false,
       errc::invalid_response, "negative"},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      std::string why;
      auto got = checked_blob_size(r.size, r.max, "blob sha256:x", &why);
      CHECK(bool(got) == r.ok);
      if (got) CHECK(*got == static_cast<std::uint64_t>(r.size));
      if (!got) {
        CHECK(got.error() == r.want_error);
        CHECK(why.find("blob sha256:x") != std::string::npos);
        CHECK(why.find(r.mentions) != std::string::npos);
      }
    }
  }
}

TEST_CASE("remote: a Content-Length becomes a size only when a descriptor can hold it",
          "[remote][security][sizes]") {
  const std::vector<length_row> rows = {
      {"1. 12: fine", 12, TiB, true},
      {"2. int64 max, no limit: fine", std::uint64_t(std::numeric_limits<std::int64_t>::max()), 0,
       true},
      {"3. 2^63 (negative as int64): refused", std::uint64_t(1) << 63, 0, false,
       errc::invalid_response},
      {"4. uint64 max: refused", std::numeric_limits<std::uint64_t>::max(), 0, false,
       errc::invalid_response},
      {"5. 2^60 with the default limit: too big", std::uint64_t(1) << 60, TiB, false,
       errc::size_limit_exceeded},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      std::string why;
      auto got = checked_content_length(r.length, r.max, "HEAD blob", &why);
      CHECK(bool(got) == r.ok);
      if (got) CHECK(static_cast<std::uint64_t>(*got) == r.length);
      if (!got) {
        CHECK(got.error() == r.want_error);
        CHECK_FALSE(why.empty());
      }
    }
  }
}

TEST_CASE("remote: a manifest HEAD with a Content-Length past 2^63 is refused",
          "[remote][security][sizes]") {
  coras::remote::detail::manifest_response r;
  r.method = "HEAD";
  r.content_type = "application/vnd.oci.image.manifest.v1+json";
  r.content_length = std::numeric_limits<std::uint64_t>::max();
  r.docker_content_digest =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  std::string why;
  auto d = coras::remote::detail::manifest_descriptor(r, nullptr, nullptr, &why);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error() == errc::invalid_response);
  CHECK(why.find("Content-Length") != std::string::npos);
}

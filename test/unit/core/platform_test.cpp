// Platform parsing, normalization and matching, as named-row tables: each row
// says what it checks, so a failure names the rule that broke.
#include <coras/core/error.hpp>
#include <coras/core/platform.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using coras::errc;
using coras::platform;

namespace {

platform plat(std::string os, std::string arch, std::string variant = {},
              std::string os_version = {}) {
  platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  p.os_version = std::move(os_version);
  return p;
}

coras::descriptor entry(platform p, char fill) {
  auto d = coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json",
                                          std::string(10, fill));
  d.platform = std::move(p);
  return d;
}

}  // namespace

TEST_CASE("platform: parse accepts OS/ARCH[/VARIANT]", "[platform]") {
  struct row {
    const char* name;
    std::string text;
    platform want;
  };
  const std::vector<row> rows = {
      {"os and arch", "linux/amd64", plat("linux", "amd64")},
      {"with a variant", "linux/arm64/v8", plat("linux", "arm64", "v8")},
      {"upper case folded", "Linux/AMD64", plat("linux", "amd64")},
      {"dots, dashes, underscores", "linux/x86_64/v1.0-a", plat("linux", "x86_64", "v1.0-a")},
      {"arch alias kept as given", "linux/aarch64", plat("linux", "aarch64")},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(coras::parse_platform(r.text) == r.want);
    CHECK(coras::to_string(coras::parse_platform(r.text)) == coras::to_string(r.want));
  }
}

TEST_CASE("platform: parse refuses what is not OS/ARCH[/VARIANT], saying why", "[platform]") {
  struct row {
    const char* name;
    std::string text;
    std::string message_part;
  };
  const std::vector<row> rows = {
      {"empty", "", "give OS/ARCH"},
      {"os only", "linux", "give OS/ARCH"},
      {"four parts", "linux/arm64/v8/x", "has 4 parts"},
      {"empty os", "/amd64", "OS is empty"},
      {"empty arch", "linux/", "ARCH is empty"},
      {"empty variant", "linux/arm//", "has 4 parts"},
      {"trailing slash", "linux/arm/", "VARIANT is empty"},
      {"space", "linux/amd 64", "ARCH \"amd 64\" holds a character"},
      {"control character", std::string("linux/arm\n64"), "holds a character"},
      {"colon", "linux:amd64/x", "OS \"linux:amd64\" holds a character"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    std::string why;
    auto p = coras::try_parse_platform(r.text, &why);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == errc::invalid_argument);
    CHECK_THAT(why, Catch::Contains(r.message_part));
    CHECK_THAT(why, Catch::StartsWith("platform \""));
    try {
      (void)coras::parse_platform(r.text);
      FAIL("parse_platform accepted \"" << r.text << "\"");
    } catch (const coras::error& e) {
      CHECK(e.code() == errc::invalid_argument);
      CHECK(std::string(e.what()) == why);
    }
  }
}

TEST_CASE("platform: normalization follows containerd", "[platform]") {
  struct row {
    const char* name;
    platform in;
    std::string out;
  };
  const std::vector<row> rows = {
      {"amd64 as is", plat("linux", "amd64"), "linux/amd64"},
      {"x86_64 is amd64", plat("linux", "x86_64"), "linux/amd64"},
      {"x86-64 is amd64", plat("linux", "x86-64"), "linux/amd64"},
      {"amd64 v1 is the baseline", plat("linux", "amd64", "v1"), "linux/amd64"},
      {"amd64 v3 kept", plat("linux", "amd64", "v3"), "linux/amd64/v3"},
      {"aarch64 is arm64/v8", plat("linux", "aarch64"), "linux/arm64/v8"},
      {"arm64 defaults to v8", plat("linux", "arm64"), "linux/arm64/v8"},
      {"arm64 8 is v8", plat("linux", "arm64", "8"), "linux/arm64/v8"},
      {"arm64 v8.0 is v8", plat("linux", "arm64", "v8.0"), "linux/arm64/v8"},
      {"arm defaults to v7", plat("linux", "arm"), "linux/arm/v7"},
      {"arm 6 is v6", plat("linux", "arm", "6"), "linux/arm/v6"},
      {"armhf is arm/v7", plat("linux", "armhf"), "linux/arm/v7"},
      {"armel is arm/v6", plat("linux", "armel"), "linux/arm/v6"},
      {"i386 is 386", plat("linux", "i386"), "linux/386"},
      {"case folded", plat("Windows", "AMD64"), "windows/amd64"},
      {"others untouched", plat("linux", "s390x"), "linux/s390x"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(coras::to_string(coras::normalize_platform(r.in)) == r.out);
  }
}

TEST_CASE("platform: matching an index entry", "[platform]") {
  struct row {
    const char* name;
    platform want;
    platform have;
    bool matches;
  };
  auto with_features = [](platform p, std::vector<std::string> os_features) {
    p.os_features = std::move(os_features);
    return p;
  };
  const std::vector<row> rows = {
      {"os and arch equal", plat("linux", "amd64"), plat("linux", "amd64"), true},
      {"other arch", plat("linux", "amd64"), plat("linux", "arm64"), false},
      {"other os", plat("linux", "amd64"), plat("windows", "amd64"), false},
      {"os is exact, not a prefix", plat("lin", "amd64"), plat("linux", "amd64"), false},
      {"no variant wanted: any", plat("linux", "amd64"), plat("linux", "amd64", "v3"), true},
      {"variant wanted: equal", plat("linux", "amd64", "v3"), plat("linux", "amd64", "v3"), true},
      {"variant wanted: other", plat("linux", "amd64", "v3"), plat("linux", "amd64", "v2"), false},
      {"variant wanted: none in index", plat("linux", "amd64", "v3"), plat("linux", "amd64"),
       false},
      {"arm64/v8 wanted, arm64 in index", plat("linux", "arm64", "v8"), plat("linux", "arm64"),
       true},
      {"arm64 wanted, arm64/v8 in index", plat("linux", "arm64"), plat("linux", "arm64", "v8"),
       true},
      {"arm64 wanted, aarch64 in index", plat("linux", "arm64"), plat("linux", "aarch64"), true},
      {"arm64 wanted, arm64/v9 in index", plat("linux", "arm64"), plat("linux", "arm64", "v9"),
       false},
      {"arm wanted is arm/v7", plat("linux", "arm"), plat("linux", "arm", "v7"), true},
      {"arm wanted, arm/v6 in index", plat("linux", "arm"), plat("linux", "arm", "v6"), false},
      {"arm/v6 wanted, armel in index", plat("linux", "arm", "v6"), plat("linux", "armel"), true},
      {"arm64 is not arm", plat("linux", "arm", "v8"), plat("linux", "arm64", "v8"), false},
      {"x86_64 wanted, amd64 in index", plat("linux", "x86_64"), plat("linux", "amd64"), true},
      {"os.version ignored unless given", plat("windows", "amd64"),
       plat("windows", "amd64", "", "10.0.17763.1"), true},
      {"os.version given: equal", plat("windows", "amd64", "", "10.0.17763.1"),
       plat("windows", "amd64", "", "10.0.17763.1"), true},
      {"os.version given: other", plat("windows", "amd64", "", "10.0.17763.1"),
       plat("windows", "amd64", "", "10.0.20348.1"), false},
      {"os.features wanted: present", with_features(plat("windows", "amd64"), {"win32k"}),
       with_features(plat("windows", "amd64"), {"win32k"}), true},
      {"os.features wanted: absent", with_features(plat("windows", "amd64"), {"win32k"}),
       plat("windows", "amd64"), false},
      {"unknown/unknown (an attestation) never matches", plat("linux", "amd64"),
       plat("unknown", "unknown"), false},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(coras::platform_matches(r.want, r.have) == r.matches);
  }
}

TEST_CASE("platform: select_platform picks the first match, or lists what there is", "[platform]") {
  coras::descriptor untagged =
      coras::descriptor::for_content("application/vnd.oci.image.manifest.v1+json", "x");
  const std::vector<coras::descriptor> index = {
      untagged,
      entry(plat("linux", "amd64"), 'a'),
      entry(plat("linux", "arm64", "v8"), 'b'),
      entry(plat("linux", "arm", "v7"), 'c'),
      entry(plat("linux", "amd64"), 'd'),  // a second amd64: the first wins
      entry(plat("unknown", "unknown"), 'e'),
  };
  CHECK(coras::select_platform(index, plat("linux", "amd64"), "idx").digest == index[1].digest);
  CHECK(coras::select_platform(index, plat("linux", "arm64"), "idx").digest == index[2].digest);
  CHECK(coras::select_platform(index, plat("linux", "armhf"), "idx").digest == index[3].digest);
  try {
    (void)coras::select_platform(index, plat("linux", "s390x"), "index example:v1");
    FAIL("no error for linux/s390x");
  } catch (const coras::error& e) {
    CHECK(e.code() == errc::not_found);
    CHECK(std::string(e.what()) ==
          "index example:v1 has no manifest for platform linux/s390x; it has linux/amd64, "
          "linux/arm64/v8, linux/arm/v7, unknown/unknown");
  }
  const std::vector<coras::descriptor> bare = {untagged};
  try {
    (void)coras::select_platform(bare, plat("linux", "arm64"), "idx");
    FAIL("no error for an index without platforms");
  } catch (const coras::error& e) {
    CHECK(e.code() == errc::not_found);
    CHECK(std::string(e.what()) ==
          "idx has no manifest for platform linux/arm64/v8: none of its manifests names a "
          "platform");
  }
}

TEST_CASE("platform: host_platform is this build's target", "[platform]") {
  const auto host = coras::host_platform();
  CHECK_FALSE(host.os.empty());
  CHECK_FALSE(host.architecture.empty());
#if defined(__linux__) && defined(__x86_64__)
  CHECK(coras::to_string(host) == "linux/amd64");
#elif defined(__linux__) && defined(__aarch64__)
  CHECK(coras::to_string(host) == "linux/arm64/v8");
#endif
  // What it names parses back to itself.
  CHECK(coras::parse_platform(coras::to_string(host)) == host);
}

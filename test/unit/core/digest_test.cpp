#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>

#include <catch2/catch.hpp>

#include <string>

using coras::digest;
using coras::digest_algorithm;
using coras::digester;
using coras::errc;

namespace {
// Known answers (FIPS 180-2 "abc", and the empty string).
constexpr const char* sha256_abc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* sha256_empty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* sha512_abc =
    "sha512:"
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feeb"
    "bd"
    "454d4423643ce80e2a9ac94fa54ca49f";
}  // namespace

TEST_CASE("digest: known answers", "[digest]") {
  CHECK(digest::of("abc").str() == sha256_abc);
  CHECK(digest::of("").str() == sha256_empty);
  CHECK(digest::of("abc", digest_algorithm::sha512).str() == sha512_abc);
  CHECK(digest::of("{}").str() ==
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST_CASE("digest: incremental hashing equals one-shot, and state copies diverge", "[digest]") {
  std::string data(100000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  digester d;
  d.update(std::string_view(data).substr(0, 1));
  d.update(std::string_view(data).substr(1, 4095));
  auto checkpoint = d.state_copy();
  d.update(std::string_view(data).substr(4096));
  CHECK(d.size() == data.size());
  CHECK(d.finish() == digest::of(data));

  checkpoint.update("tail");
  CHECK(checkpoint.size() == 4100);
  CHECK(checkpoint.finish() == digest::of(data.substr(0, 4096) + "tail"));
}

TEST_CASE("digest: finish_matches says what finish() == expected says", "[digest]") {
  auto fed = [](std::string_view bytes, digest_algorithm a = digest_algorithm::sha256) {
    digester d(a);
    d.update(bytes);
    return d;
  };
  CHECK(fed("abc").finish_matches(digest::parse(sha256_abc)));
  CHECK(fed("").finish_matches(digest::parse(sha256_empty)));
  CHECK(fed("abc", digest_algorithm::sha512).finish_matches(digest::parse(sha512_abc)));
  CHECK_FALSE(fed("abd").finish_matches(digest::parse(sha256_abc)));
  // The first and the last hex digit each count.
  auto first = std::string(sha256_abc);
  first[7] = 'c';
  CHECK_FALSE(fed("abc").finish_matches(digest::parse(first)));
  auto last = std::string(sha256_abc);
  last.back() = 'e';
  CHECK_FALSE(fed("abc").finish_matches(digest::parse(last)));
  // Another algorithm, or no digest at all, never matches.
  CHECK_FALSE(fed("abc").finish_matches(digest::parse(sha512_abc)));
  CHECK_FALSE(fed("abc", digest_algorithm::sha512).finish_matches(digest::parse(sha256_abc)));
  CHECK_FALSE(fed("abc").finish_matches(digest()));
}

TEST_CASE("digest: parse accepts canonical digests", "[digest]") {
  auto d = digest::parse(sha256_abc);
  CHECK(d.algorithm() == digest_algorithm::sha256);
  CHECK(d.algorithm_name() == "sha256");
  CHECK(d.hex().size() == 64);
  CHECK(d == digest::of("abc"));
  CHECK(d != digest::of("abd"));
  auto e = digest::parse(sha512_abc);
  CHECK(e.algorithm() == digest_algorithm::sha512);
  CHECK(digest().empty());
}

TEST_CASE("digest: parse rejects malformed and unknown digests with a clear error", "[digest]") {
  struct bad {
    std::string input;
    errc code;
    std::string message_part;
  };
  const std::string hex64(64, 'a');
  const std::vector<bad> cases = {
      {"", errc::invalid_digest, "missing ':'"},
      {hex64, errc::invalid_digest, "missing ':'"},
      {":" + hex64, errc::invalid_digest, "empty algorithm"},
      {"sha256:", errc::invalid_digest, "needs 64 hex characters, got 0"},
      {"sha256:" + hex64 + "a", errc::invalid_digest, "got 65"},
      {"sha256:" + hex64.substr(1), errc::invalid_digest, "got 63"},
      {"sha256:" + std::string(63, 'a') + "A", errc::invalid_digest,
       "upper-case hex at position 70"},
      {"sha256:" + std::string(63, 'a') + "g", errc::invalid_digest,
       "non-hex character at position 70"},
      {"SHA256:" + hex64, errc::invalid_digest, "not lower-case"},
      {"sha-:" + hex64, errc::invalid_digest, "not lower-case"},
      {"sha512:" + hex64, errc::invalid_digest, "sha512 needs 128"},
      {"md5:d41d8cd98f00b204e9800998ecf8427e", errc::unsupported_digest,
       "unsupported algorithm \"md5\""},
      {"blake3:" + hex64, errc::unsupported_digest, "unsupported algorithm"},
      {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", errc::unsupported_digest,
       "unsupported"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    std::string why;
    auto r = digest::try_parse(c.input, &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == c.code);
    CHECK_THAT(why, Catch::Contains(c.message_part));
    CHECK_THROWS_AS(digest::parse(c.input), coras::error);
  }
}

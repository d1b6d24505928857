#include "core/base64.hpp"

#include <catch2/catch.hpp>

using coras::detail::base64_decode;
using coras::detail::base64_encode;

TEST_CASE("base64: RFC 4648 test vectors", "[base64]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::string(plain));
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == all);
}

TEST_CASE("base64: rejects what is not canonical base64", "[base64]") {
  for (const char* bad :
       {"Z", "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm=v", "Zm9v\n", "Zm9v YmFy", "****"}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}

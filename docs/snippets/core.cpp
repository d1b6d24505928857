// The code blocks of docs/core.md, compiled (see readme.cpp).
#include <coras/core/digest.hpp>
#include <coras/core/reference.hpp>

#include <string>
#include <string_view>

namespace snippets {

void digests(std::string_view text, std::string bytes, std::string chunk1, std::string chunk2) {
  std::string why;
  // [snippet digests]
  auto d = coras::digest::parse("sha256:2c26b46b…");  // throws coras::error
  auto r = coras::digest::try_parse(text, &why);        // boost::system::result, no throw
  auto e = coras::digest::of(bytes);                    // sha256 by default, sha512 on request

  coras::digester h;                                    // incremental, OpenSSL EVP
  h.update(chunk1);
  auto checkpoint = h.state_copy();                     // e.g. a download's verified prefix
  h.update(chunk2);
  coras::digest whole = h.finish();
  bool intact = checkpoint.finish_matches(d);           // a check, no digest string built
  // [end]
  (void)d, (void)r, (void)e, (void)whole, (void)intact;
}

void references() {
  // [snippet references]
  auto ref = coras::reference::parse("localhost:5000/app:v1");
  ref.registry();        // "localhost:5000"
  ref.repository();      // "app"
  ref.tag();             // "v1"       (empty when the reference has a digest)
  ref.digest();          // empty digest unless has_digest()
  ref.str();             // canonical form, parses back to the same value

  // oras-go's Repository.ParseReference: resolve a tag, digest, tag@digest,
  // @digest or a full reference (which must name this repository).
  auto pinned = ref.resolve("sha256:…");
  auto other  = ref.resolve("v2");
  // [end]
  (void)pinned, (void)other;
}

}  // namespace snippets

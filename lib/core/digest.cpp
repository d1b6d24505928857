#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>

#include "text.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <new>

namespace coras {
namespace {

using detail::quote;

struct algorithm_info {
  digest_algorithm id;
  std::string_view name;
  std::size_t hex_length;
};

constexpr std::array<algorithm_info, 2> algorithms{{
    {digest_algorithm::sha256, "sha256", 64},
    {digest_algorithm::sha512, "sha512", 128},
}};

// Fetched once: EVP_sha256() is a legacy handle that OpenSSL 3 looks up
// in its provider tables again at every EVP_DigestInit_ex (a third of a
// manifest GET's hashing cost). Never freed, as OpenSSL's own tables are not.
const EVP_MD* fetched(const char* name, const EVP_MD* legacy) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md ? md : legacy;
}

const EVP_MD* evp_md(digest_algorithm a) {
  static const EVP_MD* const sha256 = fetched("SHA2-256", EVP_sha256());
  static const EVP_MD* const sha512 = fetched("SHA2-512", EVP_sha512());
  return a == digest_algorithm::sha512 ? sha512 : sha256;
}

// Lower-case hex digits, the only ones a digest may have.
constexpr std::array<bool, 256> lower_hex_chars = [] {
  std::array<bool, 256> t{};
  for (char c : std::string_view("0123456789abcdef")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// The image spec's grammar for the algorithm part; an algorithm that fits it
// but is not one of ours is "unsupported", anything else is "invalid".
bool is_algorithm_grammar(std::string_view s) {
  // algorithm-component ( [+._-] algorithm-component )*, component = [a-z0-9]+
  bool need_component = true;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) {
      need_component = false;
    } else if (c == '+' || c == '.' || c == '_' || c == '-') {
      if (need_component) return false;
      need_component = true;
    } else {
      return false;
    }
  }
  return !need_component;
}

}  // namespace

std::string_view to_string(digest_algorithm a) noexcept {
  return a == digest_algorithm::sha512 ? "sha512" : "sha256";
}

boost::system::result<digest> digest::try_parse(std::string_view s, std::string* why) {
  auto fail = [&](errc e, std::string msg) -> boost::system::result<digest> {
    if (why) *why = "invalid digest " + quote(s) + ": " + msg;
    return make_error_code(e);
  };
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return fail(errc::invalid_digest, "missing ':' separator");
  std::string_view algorithm = s.substr(0, colon);
  std::string_view hex = s.substr(colon + 1);
  if (algorithm.empty()) return fail(errc::invalid_digest, "empty algorithm before ':'");
  if (!is_algorithm_grammar(algorithm))
    return fail(errc::invalid_digest, "algorithm \"" + std::string(algorithm) +
                                          "\" is not lower-case [a-z0-9] components");
  const algorithm_info* info = nullptr;
  for (const auto& a : algorithms) {
    if (a.name == algorithm) info = &a;
  }
  if (!info)
    return fail(errc::unsupported_digest,
                "unsupported algorithm \"" + std::string(algorithm) + "\" (sha256 and sha512 are)");
  // A table lookup a character: every manifest answer's digest comes here.
  std::size_t i = 0;
  while (i < hex.size() && lower_hex_chars[static_cast<unsigned char>(hex[i])]) ++i;
  if (i < hex.size()) {
    const char c = hex[i];
    std::string what = (c >= 'A' && c <= 'F') ? "upper-case hex" : "non-hex character";
    return fail(errc::invalid_digest,
                what + " at position " + std::to_string(colon + 1 + i) + " (hex must be [0-9a-f])");
  }
  if (hex.size() != info->hex_length)
    return fail(errc::invalid_digest, std::string(algorithm) + " needs " +
                                          std::to_string(info->hex_length) +
                                          " hex characters, got " + std::to_string(hex.size()));
  return digest(info->id, std::string(s));
}

digest digest::parse(std::string_view s) {
  std::string why;
  auto r = try_parse(s, &why);
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

digest digest::of(std::span<const std::byte> bytes, digest_algorithm a) {
  digester d(a);
  d.update(bytes);
  return d.finish();
}

digest digest::of(std::string_view bytes, digest_algorithm a) {
  return of(std::as_bytes(std::span(bytes.data(), bytes.size())), a);
}

std::string_view digest::algorithm_name() const noexcept {
  return std::string_view(str_).substr(0, str_.find(':'));
}

std::string_view digest::hex() const noexcept {
  auto colon = str_.find(':');
  return colon == std::string::npos ? std::string_view() : std::string_view(str_).substr(colon + 1);
}

namespace {
// A few freed hash contexts per thread, reset, for the next digester: every
// manifest request makes one, and a new EVP_MD_CTX is an allocation (its
// provider state is one more, which OpenSSL 3.0 makes at each init anyway).
struct free_contexts {
  static constexpr std::size_t capacity = 8;
  std::array<EVP_MD_CTX*, capacity> slot{};
  std::size_t count = 0;
  ~free_contexts();
};
// Trivially destructible, so still readable when a digester outlives the
// thread's cache (a static destroyed after the main thread's thread_locals).
thread_local bool contexts_closed = false;
thread_local free_contexts contexts;

free_contexts::~free_contexts() {
  contexts_closed = true;
  for (std::size_t i = 0; i < count; ++i) EVP_MD_CTX_free(slot[i]);
}

EVP_MD_CTX* new_context() {
  if (!contexts_closed && contexts.count > 0) return contexts.slot[--contexts.count];
  return EVP_MD_CTX_new();
}
}  // namespace

void digester::ctx_deleter::operator()(void* p) const noexcept {
  auto* ctx = static_cast<EVP_MD_CTX*>(p);
  if (!contexts_closed && contexts.count < free_contexts::capacity && EVP_MD_CTX_reset(ctx) == 1) {
    contexts.slot[contexts.count++] = ctx;
    return;
  }
  EVP_MD_CTX_free(ctx);
}

digester::digester(digest_algorithm a) : algorithm_(a), ctx_(new_context()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), evp_md(a), nullptr) != 1)
    throw std::bad_alloc();
}

digester::digester(digester&&) noexcept = default;
digester& digester::operator=(digester&&) noexcept = default;
digester::~digester() = default;

void digester::update(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), bytes.data(), bytes.size());
  size_ += bytes.size();
}

void digester::update(std::string_view bytes) {
  update(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

digester digester::state_copy() const {
  digester copy(algorithm_);
  EVP_MD_CTX_copy_ex(static_cast<EVP_MD_CTX*>(copy.ctx_.get()),
                     static_cast<const EVP_MD_CTX*>(ctx_.get()));
  copy.size_ = size_;
  return copy;
}

bool digester::finish_matches(const digest& expected) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &len);
  ctx_.reset();
  const auto hex = expected.hex();
  if (expected.algorithm() != algorithm_ || hex.size() != 2 * std::size_t{len}) return false;
  // Spelled out on the stack and compared at once (a character at a time
  // cost twice as much).
  static constexpr char digits[] = "0123456789abcdef";
  char spelled[2 * EVP_MAX_MD_SIZE];
  for (unsigned int i = 0; i < len; ++i) {
    spelled[2 * i] = digits[md[i] >> 4];
    spelled[2 * i + 1] = digits[md[i] & 0xf];
  }
  return std::memcmp(spelled, hex.data(), hex.size()) == 0;
}

digest digester::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &len);
  ctx_.reset();
  const auto name = to_string(algorithm_);
  std::string s;  // one allocation: a manifest GET verifies one digest
  s.reserve(name.size() + 1 + 2 * len);
  s.append(name).append(1, ':');
  detail::append_hex(s, md, len);
  return digest(algorithm_, std::move(s));
}

}  // namespace coras

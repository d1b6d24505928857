#include "server/auth.hpp"

#include "server/protocol.hpp"

#include "core/base64.hpp"
#include "core/text.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace coras::server::detail {

std::string scope::str() const {
  std::string out = type + ':' + name + ':';
  bool first = true;
  for (const auto& a : actions) {
    if (!first) out += ',';
    out += a;
    first = false;
  }
  return out;
}

std::optional<scope> parse_scope(std::string_view text) {
  auto first = text.find(':');
  auto last = text.rfind(':');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  scope s;
  s.type = text.substr(0, first);
  s.name = text.substr(first + 1, last - first - 1);
  std::string_view actions = text.substr(last + 1);
  while (!actions.empty()) {
    auto comma = actions.find(',');
    auto a = actions.substr(0, comma);
    if (!a.empty()) s.actions.emplace(a);
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  if (s.type.empty() || s.name.empty()) return std::nullopt;
  return s;
}

std::vector<scope> parse_scopes(std::string_view text) {
  std::vector<scope> out;
  while (!text.empty()) {
    auto space = text.find(' ');
    if (auto s = parse_scope(text.substr(0, space))) out.push_back(std::move(*s));
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return out;
}

namespace {

using sha256_bytes = std::array<unsigned char, 32>;

sha256_bytes sha256_of(std::string_view bytes) noexcept {
  sha256_bytes out{};
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &n, EVP_sha256(), nullptr);
  return out;
}

sha256_bytes hmac_of(std::string_view key, std::string_view bytes) noexcept {
  sha256_bytes out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data(), &n);
  return out;
}

std::optional<sha256_bytes> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  sha256_bytes out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return out;
}

// Expiry in the payload: milliseconds of the steady clock. Lifetimes are
// clamped so that `now + lifetime` never overflows.
std::int64_t expiry_ms(clock::time_point now, std::chrono::seconds lifetime) {
  constexpr std::chrono::seconds longest{std::int64_t{10} * 366 * 24 * 3600};
  const auto l = std::clamp(lifetime, std::chrono::seconds{0}, longest);
  return std::chrono::duration_cast<std::chrono::milliseconds>((now + l).time_since_epoch())
      .count();
}

}  // namespace

bool same_secret(std::string_view a, std::string_view b) noexcept {
  const auto x = sha256_of(a), y = sha256_of(b);
  return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

bool same_credentials(std::string_view user, std::string_view password,
                      std::string_view expected_user, std::string_view expected_password) noexcept {
  const bool u = same_secret(user, expected_user);
  const bool p = same_secret(password, expected_password);
  return u & p;  // both compared, whichever differs
}

token_store::token_store() : key_(32, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no key for the token endpoint");
}

token_store::token_store(std::string key) : key_(std::move(key)) {}

std::string token_store::sign(char kind, clock::time_point expires, std::string_view body) const {
  std::string payload(1, kind);
  payload += '\n';
  payload += std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(expires.time_since_epoch()).count());
  payload += '\n';
  payload += body;
  const auto mac = hmac_of(key_, payload);
  return coras::detail::base64_encode(payload) + '.' +
         coras::detail::to_hex(mac.data(), mac.size());
}

std::optional<std::string> token_store::open(std::string_view token, char kind,
                                             clock::time_point now) const {
  const auto dot = token.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto payload = coras::detail::base64_decode(token.substr(0, dot));
  auto mac = from_hex(token.substr(dot + 1));
  if (!payload || !mac) return std::nullopt;
  const auto expected = hmac_of(key_, *payload);
  if (CRYPTO_memcmp(expected.data(), mac->data(), expected.size()) != 0) return std::nullopt;
  // Genuine: the payload is ours, "<kind>\n<expires ms>\n<body>".
  if (payload->size() < 2 || (*payload)[0] != kind || (*payload)[1] != '\n') return std::nullopt;
  const auto nl = payload->find('\n', 2);
  if (nl == std::string::npos) return std::nullopt;
  std::int64_t expires = 0;
  const char* first = payload->data() + 2;
  const char* last = payload->data() + nl;
  if (std::from_chars(first, last, expires).ptr != last) return std::nullopt;
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (expires <= now_ms) return std::nullopt;
  return payload->substr(nl + 1);
}

std::string token_store::issue(const std::vector<scope>& granted, clock::time_point now,
                               std::chrono::seconds lifetime) const {
  std::string body;
  for (const auto& s : granted) {
    if (!body.empty()) body += ' ';
    body += s.str();
  }
  return sign('a', clock::time_point(std::chrono::milliseconds(expiry_ms(now, lifetime))), body);
}

bool token_store::valid(std::string_view token, clock::time_point now) const {
  return open(token, 'a', now).has_value();
}

bool token_store::allows(std::string_view token, std::string_view type, std::string_view name,
                         std::string_view action, clock::time_point now) const {
  const auto body = open(token, 'a', now);
  if (!body) return false;
  for (const auto& s : parse_scopes(*body)) {
    if (s.type == type && s.name == name && (s.actions.contains(action) || s.actions.contains("*")))
      return true;
  }
  return false;
}

std::string token_store::issue_refresh(const std::string& username, clock::time_point now,
                                       std::chrono::seconds lifetime) const {
  return sign('r', clock::time_point(std::chrono::milliseconds(expiry_ms(now, lifetime))),
              username);
}

std::optional<std::string> token_store::refresh_user(std::string_view refresh_token,
                                                     clock::time_point now) const {
  return open(refresh_token, 'r', now);
}

}  // namespace coras::server::detail

// Bearer-token bookkeeping for the registry's built-in token endpoint: scope
// grammar, signed tokens bound to scopes and an expiry, refresh tokens, and
// constant-time credential checks. Pure logic (plus OpenSSL's HMAC).
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server::detail {

/// One `type:name:actions` scope, e.g. `repository:library/alpine:pull,push`.
struct scope {
  std::string type;
  std::string name;
  std::set<std::string, std::less<>> actions;

  /// `type:name:a,b`, actions sorted ("pull,push" sorts as Docker writes it).
  std::string str() const;
};

/// Parses one scope; nullopt when malformed. The name may contain ':' (only the
/// first and last colons separate).
std::optional<scope> parse_scope(std::string_view text);
/// Parses space-separated scopes (the OAuth2 form), skipping malformed ones.
std::vector<scope> parse_scopes(std::string_view text);

using clock = std::chrono::steady_clock;

/// True when `a` and `b` are the same bytes. Takes the same time whatever
/// bytes differ (CRYPTO_memcmp over SHA-256 digests of both, so the length of
/// the secret does not show either): for passwords and the like.
bool same_secret(std::string_view a, std::string_view b) noexcept;
/// True when `user`/`password` are `expected`'s, in constant time (both parts
/// are always compared).
bool same_credentials(std::string_view user, std::string_view password,
                      std::string_view expected_user, std::string_view expected_password) noexcept;

/// Bearer and refresh tokens, stateless: a token is its own record,
/// `base64(payload) "." hex(HMAC-SHA256(key, payload))`, the payload holding
/// the kind, the expiry and the grant (scopes, or the refresh token's user).
/// The key is random per store (RAND_bytes), so tokens die with the process
/// and nothing grows with the number of tokens issued (issue 17, item 11).
/// Verification compares MACs in constant time. Not thread-safe for
/// construction only; the const members may be called concurrently.
class token_store {
 public:
  /// Draws a fresh random key.
  token_store();
  /// A store with a fixed key (tests).
  explicit token_store(std::string key);

  /// Issues a token for `granted`, valid until `now + lifetime`.
  std::string issue(const std::vector<scope>& granted, clock::time_point now,
                    std::chrono::seconds lifetime) const;
  /// True when `token` was issued by this store as an access token and is unexpired.
  bool valid(std::string_view token, clock::time_point now) const;
  /// True when `token` is valid and grants `action` (or `*`) on `type:name`.
  bool allows(std::string_view token, std::string_view type, std::string_view name,
              std::string_view action, clock::time_point now) const;

  /// A refresh token for `username`, valid until `now + lifetime`.
  std::string issue_refresh(const std::string& username, clock::time_point now,
                            std::chrono::seconds lifetime) const;
  /// The user an unexpired refresh token of this store was issued to.
  std::optional<std::string> refresh_user(std::string_view refresh_token,
                                          clock::time_point now) const;

 private:
  std::string sign(char kind, clock::time_point expires, std::string_view body) const;
  /// The body of a genuine, unexpired token of `kind`.
  std::optional<std::string> open(std::string_view token, char kind, clock::time_point now) const;
  std::string key_;
};

}  // namespace coras::server::detail

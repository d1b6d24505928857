// Bearer-token bookkeeping for the registry's built-in token endpoint: scope
// grammar, issued tokens bound to scopes and an expiry, refresh tokens, and the
// challenge text. Pure logic; the registry calls it on its strand only.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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

class token_store {
 public:
  /// Issues a token for `granted`, valid until `now + lifetime`.
  std::string issue(const std::vector<scope>& granted, clock::time_point now,
                    std::chrono::seconds lifetime);
  /// True when `token` is known and unexpired.
  bool valid(std::string_view token, clock::time_point now) const;
  /// True when `token` is valid and grants `action` (or `*`) on `type:name`.
  bool allows(std::string_view token, std::string_view type, std::string_view name,
              std::string_view action, clock::time_point now) const;

  /// A refresh token for `username` (valid while the registry runs).
  std::string issue_refresh(const std::string& username);
  /// The user a refresh token was issued to.
  std::optional<std::string> refresh_user(std::string_view refresh_token) const;

 private:
  struct grant {
    std::map<std::string, std::set<std::string, std::less<>>, std::less<>> access;  // "type:name"
    clock::time_point expires;
  };
  std::unordered_map<std::string, grant> tokens_;
  std::unordered_map<std::string, std::string> refresh_;
  clock::time_point next_purge_{};
};

}  // namespace coras::server::detail

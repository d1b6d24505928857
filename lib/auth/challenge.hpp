// Pure pieces of registry authentication, tested on their own
// (test/unit/auth/challenge_test.cpp): WWW-Authenticate parsing, scopes, and
// token responses.
#pragma once

#include "core/text.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coras::auth::detail {

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1).
struct challenge {
  std::string scheme;                         ///< lower-cased: "basic", "bearer", …
  std::map<std::string, std::string> params;  ///< names lower-cased, values unquoted

  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

/// Every challenge in `values` (each a header value; several challenges may
/// share one value). Parameters may be quoted (with `\` escapes) or not; a
/// token68 (e.g. `Basic abc==`) is skipped. Parsing stops at the first
/// malformed piece: the challenges before it are returned and `why` says
/// what was wrong. Never throws on hostile input.
std::vector<challenge> parse_challenges(std::span<const std::string_view> values,
                                        std::string* why = nullptr);

/// `repository:NAME:ACTIONS`.
std::string repository_scope(std::string_view name, std::string_view actions);

/// Scopes merged as oras-go's auth.CleanScopes does: one entry per resource
/// (`type:name`) with the union of its actions, sorted; `*` absorbs the other
/// actions; malformed entries are kept as they are; the result is sorted.
std::vector<std::string> clean_scopes(std::vector<std::string> scopes);

/// The scopes of a challenge's `scope` parameter (space-separated).
std::vector<std::string> split_scopes(std::string_view scope_param);

/// The longest life a token is believed to have, whatever `expires_in` says
/// (one year). Not an option: a token the registry stops accepting earlier is
/// fetched again after its first 401 anyway, so the cap only keeps the cache's
/// clock arithmetic in range.
inline constexpr std::chrono::seconds max_token_lifetime{365LL * 24 * 3600};

/// What a token endpoint answered.
struct token_answer {
  std::string token;
  /// The spec's default (60 s) when absent, not a positive number, or under
  /// a second; clamped to `max_token_lifetime`; fractions cut off.
  std::chrono::seconds expires_in{60};
  /// `issued_at` (RFC 3339) when present and well-formed.
  std::optional<std::chrono::system_clock::time_point> issued_at;
  std::string refresh_token;

  /// How long the token may still be used, counted from `now`: `expires_in`,
  /// or less when `issued_at` says the token was issued earlier (a token
  /// service handing out a cached token) — but at most half of it less, so
  /// clock skew cannot make fresh tokens look expired, and never more, so it
  /// cannot stretch a token's life either.
  std::chrono::seconds remaining(std::chrono::system_clock::time_point now) const;
};

/// Reads `{"token"|"access_token", "expires_in", "issued_at", "refresh_token"}`.
boost::system::result<token_answer> parse_token_response(std::string_view body,
                                                         std::string* why = nullptr);

/// An RFC 3339 date-time (`2026-11-29T19:30:00Z`, fractions and offsets
/// allowed); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

using coras::detail::form_escape;  // core/text.hpp

}  // namespace coras::auth::detail

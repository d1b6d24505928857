// Pure pieces of registry authentication, tested on their own
// (test/unit/auth/challenge_test.cpp): WWW-Authenticate parsing, scopes, and
// token responses.
#pragma once

#include <boost/system/result.hpp>

#include <chrono>
#include <map>
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

/// What a token endpoint answered.
struct token_answer {
  std::string token;
  std::chrono::seconds expires_in{60};  ///< the spec's default when absent
  std::string refresh_token;
};

/// Reads `{"token"|"access_token", "expires_in", "issued_at", "refresh_token"}`.
boost::system::result<token_answer> parse_token_response(std::string_view body,
                                                         std::string* why = nullptr);

/// application/x-www-form-urlencoded escaping of one value.
std::string form_escape(std::string_view s);

}  // namespace coras::auth::detail

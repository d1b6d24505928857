#include "server/auth.hpp"

#include "server/protocol.hpp"

#include <algorithm>

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

std::string token_store::issue(const std::vector<scope>& granted, clock::time_point now,
                               std::chrono::seconds lifetime) {
  // Expired tokens go in batches, so a long test run does not grow the map.
  if (now >= next_purge_) {
    std::erase_if(tokens_, [&](const auto& t) { return t.second.expires <= now; });
    next_purge_ = now + std::chrono::seconds(30);
  }
  grant g;
  g.expires = now + lifetime;
  for (const auto& s : granted) {
    auto& actions = g.access[s.type + ':' + s.name];
    actions.insert(s.actions.begin(), s.actions.end());
  }
  auto token = random_hex(24);
  tokens_[token] = std::move(g);
  return token;
}

bool token_store::valid(std::string_view token, clock::time_point now) const {
  auto it = tokens_.find(std::string(token));
  return it != tokens_.end() && it->second.expires > now;
}

bool token_store::allows(std::string_view token, std::string_view type, std::string_view name,
                         std::string_view action, clock::time_point now) const {
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end() || it->second.expires <= now) return false;
  std::string key(type);
  key += ':';
  key += name;
  auto a = it->second.access.find(key);
  if (a == it->second.access.end()) return false;
  return a->second.contains(action) || a->second.contains("*");
}

std::string token_store::issue_refresh(const std::string& username) {
  auto token = random_hex(24);
  refresh_[token] = username;
  return token;
}

std::optional<std::string> token_store::refresh_user(std::string_view refresh_token) const {
  auto it = refresh_.find(std::string(refresh_token));
  if (it == refresh_.end()) return std::nullopt;
  return it->second;
}

}  // namespace coras::server::detail

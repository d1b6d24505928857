// The built-in token endpoint (`/token`, token auth only): GET with optional
// basic credentials, and the OAuth2 POST form (password and refresh_token
// grants). Tokens and scopes are kept by `token_store` (auth.cpp).
#include "server/handler.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>

#include <ctime>

namespace coras::server::detail {
namespace {

std::string rfc3339_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Authenticated users get every action they ask for; anonymous ones get pull
// when anonymous pull is on, nothing otherwise (Docker Hub's behaviour).
std::vector<scope> grant(const std::vector<scope>& requested, bool authenticated,
                         bool anonymous_pull) {
  std::vector<scope> out;
  for (const auto& s : requested) {
    scope g{s.type, s.name, {}};
    for (const auto& a : s.actions) {
      if (authenticated ? (a == "pull" || a == "push" || a == "delete" || a == "*")
                        : (anonymous_pull && s.type == "repository" && a == "pull"))
        g.actions.insert(a);
    }
    if (!g.actions.empty()) out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

void dispatcher::token_reply(exchange& ex, const std::vector<scope>& granted, bool with_refresh,
                             const std::string& user) {
  const auto token = tokens_.issue(granted, clock::now(), options_.token_lifetime);
  boost::json::object o;
  o["token"] = token;
  o["access_token"] = token;
  o["expires_in"] = options_.token_lifetime.count();
  o["issued_at"] = rfc3339_now();
  if (with_refresh)
    o["refresh_token"] = tokens_.issue_refresh(user, clock::now(), options_.refresh_token_lifetime);
  set_text(ex.out, 200, boost::json::serialize(o), json_type);
}

void dispatcher::handle_token_get(exchange& ex, const boost::urls::params_view& params) {
  bool authenticated = false;
  std::string user;
  if (!ex.head.authorization.empty()) {
    auto c = parse_basic(ex.head.authorization);
    if (!c || !same_credentials(c->username, c->password, options_.token_auth->username,
                                options_.token_auth->password)) {
      set_error(ex.out, registry_errc::unauthorized, "invalid credentials");
      ex.out.set("WWW-Authenticate", "Basic realm=\"coras\"");
      return;
    }
    authenticated = true;
    user = c->username;
  }
  std::vector<scope> requested;
  for (const auto& p : params) {
    if (p.key != "scope") continue;
    auto more = parse_scopes(p.value);
    requested.insert(requested.end(), more.begin(), more.end());
  }
  const bool offline = param(params, "offline_token").value_or("") == "true";
  token_reply(ex, grant(requested, authenticated, options_.anonymous_pull),
              authenticated && offline, user);
}

void dispatcher::finish_token_post(exchange& ex) {
  if (ex.head.method != verb::post) return;
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;  // application/x-www-form-urlencoded
  if (!boost::urls::parse_query(ex.collected)) {
    set_text(ex.out, 400, R"({"error":"invalid_request"})", json_type);
    return;
  }
  const boost::urls::params_view form(ex.collected, opt);
  const auto grant_type = param(form, "grant_type").value_or("");
  const auto scopes = parse_scopes(param(form, "scope").value_or(""));
  const auto& creds = *options_.token_auth;
  if (grant_type == "password") {
    if (!same_credentials(param(form, "username").value_or(""),
                          param(form, "password").value_or(""), creds.username, creds.password)) {
      set_error(ex.out, registry_errc::unauthorized, "invalid credentials");
      return;
    }
    return token_reply(ex, grant(scopes, true, options_.anonymous_pull), true, creds.username);
  }
  if (grant_type == "refresh_token") {
    auto user = tokens_.refresh_user(param(form, "refresh_token").value_or(""), clock::now());
    if (!user) {
      set_error(ex.out, registry_errc::unauthorized, "invalid refresh token");
      return;
    }
    return token_reply(ex, grant(scopes, true, options_.anonymous_pull), false, *user);
  }
  set_text(ex.out, 400, R"({"error":"unsupported_grant_type"})", json_type);
}

}  // namespace coras::server::detail

#include "authorizer.hpp"

#include <coras/auth/authorizer.hpp>

#include "challenge.hpp"
#include "core/base64.hpp"
#include "detail/waitable.hpp"
#include "http/client_impl.hpp"
#include "http/protocol.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace coras::auth::detail {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

// Token responses are small; oras-go caps them at 128 KiB too.
constexpr std::uint64_t max_token_response = 128 * 1024;

struct authorizer::flight : coras::detail::waitable {
  using waitable::waitable;
  std::string header;
};

authorizer::authorizer(credential_provider credentials) : credentials_(std::move(credentials)) {}
authorizer::~authorizer() = default;

namespace {

std::string origin_of(std::string_view url) {
  auto parts = http::detail::split_url(url);
  return parts ? parts->origin.str() : std::string();
}

// The name a credential is stored under: what references call the registry.
std::string registry_name(std::string_view url) {
  auto parts = http::detail::split_url(url);
  if (!parts) return {};
  auto authority = parts->origin.authority();
  if (authority == "registry-1.docker.io" || authority == "index.docker.io") return "docker.io";
  return authority;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// An OAuth2 token request (RFC 6749 §4.3/§6) with `grant` and the usual fields.
http::request oauth2_request(const std::string& realm, std::string grant,
                             const std::string& service, const std::vector<std::string>& scopes) {
  http::request req;
  req.method = "POST";
  req.url = realm;
  grant += "&client_id=coras";
  if (!service.empty()) grant += "&service=" + form_escape(service);
  if (!scopes.empty()) grant += "&scope=" + form_escape(join(scopes));
  req.headers.set("Content-Type", "application/x-www-form-urlencoded");
  req.body = coras::memory_source(std::move(grant));
  // The form carries a password or a refresh token: never re-sent elsewhere.
  req.carries_credentials = true;
  return req;
}

[[noreturn]] void refuse(std::string what) { throw coras::error(errc::unauthorized, what); }

}  // namespace

const authorizer::cached* authorizer::lookup(const std::string& key) const {
  auto it = cache_.find(key);
  if (it == cache_.end() || clock_type::now() >= it->second.expires) return nullptr;
  return &it->second;
}

asio::awaitable<authorizer::cached> authorizer::fetch_token(http::client_impl& c,
                                                            const std::string& request_url,
                                                            const std::string& registry,
                                                            std::string realm, std::string service,
                                                            std::vector<std::string> scopes) {
  auto realm_parts = http::detail::split_url(realm);
  if (!realm_parts) refuse("the registry's token realm \"" + realm + "\" is not an http(s) URL");
  // A registry on TLS must not send its clients' credentials over plain HTTP.
  if (request_url.starts_with("https://") && !realm_parts->origin.tls())
    refuse("refusing the token realm " + realm + ": it downgrades https to http");

  credential cred;
  if (credentials_) cred = co_await credentials_(registry);
  if (!cred.access_token.empty())
    co_return cached{"Bearer " + cred.access_token, clock_type::time_point::max()};

  http::request req;
  if (!cred.refresh_token.empty()) {
    // OAuth2: exchange the identity token (the registry's refresh grant).
    req = oauth2_request(
        realm, "grant_type=refresh_token&refresh_token=" + form_escape(cred.refresh_token), service,
        scopes);
  } else {
    req.url = realm;
    char sep = realm.find('?') == std::string::npos ? '?' : '&';
    if (!service.empty()) {
      req.url += sep + std::string("service=") + form_escape(service);
      sep = '&';
    }
    for (const auto& s : scopes) {
      req.url += sep + std::string("scope=") + form_escape(s);
      sep = '&';
    }
    if (!cred.username.empty()) {
      req.headers.set("Authorization",
                      "Basic " + coras::detail::base64_encode(cred.username + ":" + cred.password));
      // A realm that redirects elsewhere is refused rather than asked anonymously.
      req.carries_credentials = true;
    }
  }
  const auto method = req.method;
  auto resp = co_await c.send_plain(req);
  if ((resp.status() == 404 || resp.status() == 405) && method == "GET" && !cred.username.empty()) {
    // A token service that only speaks OAuth2: the password grant.
    co_await resp.impl()->discard();
    auto post = oauth2_request(realm,
                               "grant_type=password&username=" + form_escape(cred.username) +
                                   "&password=" + form_escape(cred.password),
                               service, scopes);
    resp = co_await c.send_plain(std::move(post));
  }
  if (resp.status() != 200) {
    std::string body;
    try {
      body = co_await resp.impl()->read_all(8 * 1024);
    } catch (const boost::system::system_error&) {
    }
    auto answer = parse_registry_error(resp.status(), method, realm, body);
    throw coras::error(resp.status() == 401 || resp.status() == 403
                           ? make_error_code(errc::unauthorized)
                           : answer.code(),
                       "fetching a token: " + answer.to_string());
  }
  auto body = co_await resp.impl()->read_all(max_token_response);
  std::string why;
  auto answer = parse_token_response(body, &why);
  if (!answer) throw coras::error(errc::invalid_response, "token from " + realm + ": " + why);
  ++tokens_fetched_;
  // Renew a little early so a token does not expire in flight.
  auto life = std::chrono::duration_cast<clock_type::duration>(
      answer->remaining(std::chrono::system_clock::now()));
  auto margin = std::min<clock_type::duration>(life / 10, std::chrono::seconds(30));
  co_return cached{"Bearer " + answer->token, clock_type::now() + life - margin};
}

asio::awaitable<std::string> authorizer::bearer(http::client_impl& c, const std::string& key,
                                                const std::string& request_url,
                                                const std::string& registry, std::string realm,
                                                std::string service,
                                                std::vector<std::string> scopes,
                                                std::string stale) {
  if (auto hit = lookup(key); hit && hit->header != stale) co_return hit->header;
  if (auto it = flights_.find(key); it != flights_.end()) {
    auto in_flight = it->second;  // the entry goes when the fetch ends
    co_await in_flight->wait();
    co_return in_flight->header;
  }
  auto f = std::make_shared<flight>(co_await asio::this_coro::executor);
  flights_[key] = f;
  std::exception_ptr failure;
  try {
    auto fresh = co_await fetch_token(c, request_url, registry, std::move(realm),
                                      std::move(service), std::move(scopes));
    f->header = fresh.header;
    cache_[key] = std::move(fresh);
  } catch (...) {
    failure = std::current_exception();
  }
  flights_.erase(key);
  f->finish(failure);
  if (failure) std::rethrow_exception(failure);
  co_return f->header;
}

asio::awaitable<http::response> authorizer::send(http::client_impl& c, http::request req) {
  // The caller's own Authorization is left alone.
  if (req.headers.contains("Authorization")) co_return co_await c.send_plain(std::move(req));

  const auto origin = origin_of(req.url);
  const auto scopes = clean_scopes(req.scopes);
  const auto scope_key = origin + " " + join(scopes);
  const auto basic_key = origin + " basic";
  const auto registry = registry_name(req.url);
  std::string sent;
  if (auto hit = lookup(scope_key)) {
    sent = hit->header;
  } else if (auto b = lookup(basic_key)) {
    sent = b->header;
  } else if (auto known = realms_.find(origin); known != realms_.end() && !scopes.empty()) {
    // The registry wants bearer tokens from this realm: fetch one for these
    // scopes up front instead of paying a 401 round trip (as oras-go does).
    sent = co_await bearer(c, scope_key, req.url, registry, known->second.realm,
                           known->second.service, scopes, {});
  }
  if (!sent.empty()) req.headers.set("Authorization", sent);

  auto resp = co_await c.send_plain(req);
  if (resp.status() != 401) co_return resp;
  // Only the origin asked can challenge: a 401 from where a redirect led
  // (blob storage, a CDN) gets no credentials.
  if (origin_of(resp.url()) != origin) co_return resp;
  if (req.body && !req.body->rewind()) co_return resp;  // cannot be sent again

  std::string why;
  auto values = resp.headers().get_all("WWW-Authenticate");
  auto challenges = parse_challenges(values, &why);
  // Give the connection back before waiting for a token: with every pooled
  // connection held by a 401, the token request (often to the same origin)
  // would wait forever.
  co_await resp.impl()->discard();
  auto pick = [&](std::string_view scheme) {
    return std::find_if(challenges.begin(), challenges.end(),
                        [&](const challenge& ch) { return ch.scheme == scheme; });
  };
  std::string header;
  if (auto b = pick("bearer"); b != challenges.end()) {
    realms_[origin] = bearer_realm{b->param("realm"), b->param("service")};
    auto all = scopes;
    for (auto& s : split_scopes(b->param("scope"))) all.push_back(std::move(s));
    all = clean_scopes(std::move(all));
    // Keyed by what the request needs, so the next request like it finds it.
    header = co_await bearer(c, scope_key, req.url, registry, b->param("realm"),
                             b->param("service"), std::move(all), sent);
  } else if (pick("basic") != challenges.end()) {
    credential cred;
    if (credentials_) cred = co_await credentials_(registry);
    if (cred.username.empty() && cred.password.empty()) co_return resp;
    header = "Basic " + coras::detail::base64_encode(cred.username + ":" + cred.password);
    cache_[basic_key] = cached{header, clock_type::time_point::max()};
  } else {
    co_return resp;  // no challenge we can answer (or a malformed one): the 401 stands
  }
  if (header == sent) co_return resp;  // the same answer would fail the same way
  req.headers.set("Authorization", header);
  co_return co_await c.send_plain(std::move(req));
}

}  // namespace coras::auth::detail

namespace coras::auth {

std::shared_ptr<http::authorizer> make_authorizer(credential_provider credentials) {
  return std::make_shared<detail::authorizer>(std::move(credentials));
}

}  // namespace coras::auth

// The dispatcher's front: routing, the faults taken per request, authorization
// (basic and bearer), the choice of handler, and the body plumbing
// (`on_body`, `finish`, `abort`). The handlers are in one file per concern
// (see handler.hpp).
#include "server/handler.hpp"

#include <coras/core/reference.hpp>

#include <boost/url/parse.hpp>

#include <initializer_list>

namespace coras::server::detail {
namespace {

// Go's mux answer for paths it does not route (and distribution's for a
// disabled Referrers API): clients take this exact body as "not supported".
void set_page_not_found(reply& out) { set_text(out, 404, "404 page not found\n"); }

// What a request needs in token mode: the scopes named in the challenge, and
// the one action of each that must be granted ("pull,push" is asked, push is
// needed).
struct need {
  scope challenge;
  std::string action;
};

std::vector<need> needs_of(const route& r, verb method, const boost::urls::params_view& params) {
  std::vector<need> out;
  auto repo = [&](std::string_view name, std::initializer_list<std::string_view> actions,
                  std::string_view action) {
    need n;
    n.challenge.type = "repository";
    n.challenge.name = name;
    for (auto a : actions) n.challenge.actions.emplace(a);
    n.action = action;
    out.push_back(std::move(n));
  };
  switch (r.kind) {
    case route_kind::base:
    case route_kind::not_found:
    case route_kind::token: break;
    case route_kind::catalog: {
      need n;
      n.challenge = scope{"registry", "catalog", {"*"}};
      n.action = "*";
      out.push_back(std::move(n));
      break;
    }
    case route_kind::upload_start:
    case route_kind::upload:
      repo(r.name, {"pull", "push"}, "push");
      if (r.kind == route_kind::upload_start && param(params, "mount")) {
        if (auto from = param(params, "from"); from && check_repository(*from).empty())
          repo(*from, {"pull"}, "pull");
      }
      break;
    default:
      if (is_read(method))
        repo(r.name, {"pull"}, "pull");
      else if (method == verb::delete_)
        repo(r.name, {"delete"}, "delete");
      else
        repo(r.name, {"pull", "push"}, "push");
      break;
  }
  return out;
}

}  // namespace

std::optional<std::string> param(const boost::urls::params_view& ps, std::string_view key) {
  auto it = ps.find(key);
  if (it == ps.end()) return std::nullopt;
  return std::string((*it).value);
}

void set_text(reply& out, unsigned status, std::string text, std::string_view type) {
  out.status = status;
  out.text = std::move(text);
  out.set("Content-Type", std::string(type));
}

void set_error(reply& out, registry_errc code, std::string_view detail, unsigned status) {
  out.status = status ? status : default_status(code);
  out.text = error_body(code, {}, detail);
  out.set("Content-Type", std::string(json_type));
}

dispatcher::dispatcher(const registry_options& options, std::shared_ptr<storage> store, hooks& h)
    : options_(options),
      limits_(upload_limits::of(options)),
      store_(std::move(store)),
      hooks_(h),
      upstream_(options.upstream),
      sink_(upstream_ ? make_storage_sink(store_) : nullptr) {}

// Never from the request's Host header: a client must not choose where other
// clients send their credentials (a cache or proxy would replay its answer).
std::string dispatcher::realm(const exchange& ex) const {
  if (!options_.token_realm.empty()) return options_.token_realm;
  std::string r = ex.head.tls ? "https://" : "http://";
  r += default_host_;
  r += "/token";
  return r;
}

void dispatcher::begin(exchange& ex) {
  auto& out = ex.out;
  auto parsed = boost::urls::parse_origin_form(ex.head.target);
  if (!parsed) {
    set_text(out, 400, "400 bad request: malformed request target\n");
    out.close = true;
    return;
  }
  const std::string path = parsed->path();
  const auto params = parsed->params();
  ex.where = parse_route(path);

  // Taken first: it edits whatever response this request gets, faults included.
  out.header_edits = hooks_.take_header_fault(path, ex.head.method_name);
  if (auto f = hooks_.take_status_fault(path)) {
    if (!f->retry_after.empty()) out.set("Retry-After", f->retry_after);
    if (registry_errc code; !f->code.empty() && parse_registry_errc(f->code, code)) {
      set_error(out, code, "injected fault", f->status);
      return;
    }
    switch (f->status) {
      case 401: set_error(out, registry_errc::unauthorized, "injected fault", 401); break;
      case 403: set_error(out, registry_errc::denied, "injected fault", 403); break;
      case 429: set_error(out, registry_errc::too_many_requests, "injected fault", 429); break;
      default: set_text(out, f->status, "injected fault\n"); break;
    }
    return;
  }
  if (auto d = hooks_.take_delay_fault(path)) {
    out.delay = d->before_headers;
    out.stall = d->mid_body;
  }

  if (handle_metrics(ex, path)) return;
  const auto kind = ex.where.kind;
  if (kind == route_kind::not_found || (kind == route_kind::token && !options_.token_auth) ||
      (kind == route_kind::referrers && !options_.referrers_api)) {
    set_page_not_found(out);
    return;
  }
  if (!ex.where.name_problem.empty()) {
    set_error(out, registry_errc::name_invalid, ex.where.name_problem);
    return;
  }
  if (!authorize(ex, params)) return;
  handle(ex, params);
}

bool dispatcher::authorize(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  if (ex.where.kind == route_kind::token) return true;  // checks its own credentials
  if (options_.token_auth) {
    const auto token = parse_bearer(ex.head.authorization);
    const auto now = clock::now();
    const auto needs = needs_of(ex.where, ex.head.method, params);
    bool ok = !token.empty() && tokens_.valid(token, now);
    for (const auto& n : needs)
      ok = ok && tokens_.allows(token, n.challenge.type, n.challenge.name, n.action, now);
    if (ok) return true;
    // Docker Hub's challenge, with distribution's error hint once a token was shown.
    std::string challenge = "Bearer realm=\"" + realm(ex) + "\",service=\"coras\"";
    if (!needs.empty()) {
      challenge += ",scope=\"";
      for (std::size_t i = 0; i < needs.size(); ++i) {
        if (i) challenge += ' ';
        challenge += needs[i].challenge.str();
      }
      challenge += '"';
    }
    if (!token.empty())
      challenge +=
          tokens_.valid(token, now) ? ",error=\"insufficient_scope\"" : ",error=\"invalid_token\"";
    set_error(out, registry_errc::unauthorized);
    out.set("WWW-Authenticate", std::move(challenge));
    return false;
  }
  if (options_.basic_auth) {
    if (options_.anonymous_pull && is_read(ex.head.method)) return true;
    auto c = parse_basic(ex.head.authorization);
    if (c && same_credentials(c->username, c->password, options_.basic_auth->username,
                              options_.basic_auth->password))
      return true;
    set_error(out, registry_errc::unauthorized);
    out.set("WWW-Authenticate", "Basic realm=\"coras\"");
    return false;
  }
  return true;
}

void dispatcher::handle(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto method = ex.head.method;
  if (upstream_ && handle_upstream(ex, params)) return;
  switch (ex.where.kind) {
    case route_kind::base:
      if (!is_read(method)) break;
      set_text(out, 200, "{}", json_type);
      out.head_only = method == verb::head;
      return;
    case route_kind::token:
      if (method == verb::get) return handle_token_get(ex, params);
      if (method == verb::post) {
        ex.sink = body_sink::collect;
        ex.limit = 64 * 1024;
        return;
      }
      break;
    case route_kind::catalog:
    case route_kind::tags_list:
      if (method == verb::get) return handle_list(ex, params);
      break;
    case route_kind::manifest: return handle_manifest(ex, params);
    case route_kind::blob: return handle_blob(ex);
    case route_kind::upload_start:
      if (method == verb::post) return handle_upload_start(ex, params);
      break;
    case route_kind::upload: return handle_upload(ex, params);
    case route_kind::referrers:
      if (method == verb::get) return handle_referrers(ex, params);
      break;
    case route_kind::not_found: break;
  }
  set_error(out, registry_errc::unsupported);
}

bool dispatcher::on_body(exchange& ex, std::string_view chunk) {
  if (ex.sink == body_sink::collect) {
    if (ex.collected.size() + chunk.size() > ex.limit) {
      set_error(ex.out, registry_errc::size_invalid,
                "body larger than " + std::to_string(ex.limit) + " bytes", 413);
      ex.out.close = true;
      return false;
    }
    ex.collected.append(chunk);
    return true;
  }
  if (ex.sink != body_sink::upload) return true;
  // An upload cut keeps the bytes before the cut and drops the request.
  bool cut = false;
  if (ex.cut_after) {
    const std::uint64_t room = *ex.cut_after - ex.received;
    if (chunk.size() >= room) {
      chunk = chunk.substr(0, static_cast<std::size_t>(room));
      cut = true;
    }
  }
  // Quotas count bytes as they arrive (issue 17, item 10).
  if (const auto why = store_->charge_upload(*ex.session, chunk.size(), limits_);
      why != upload_limit::none) {
    const bool monolithic = ex.where.kind == route_kind::upload_start;
    refuse_upload(ex, why);
    ex.out.close = true;  // the rest of the body stays unread
    if (monolithic) store_->drop_upload(ex.session->id());
    abort(ex);
    return false;
  }
  if (!ex.session->append(chunk)) {
    set_text(ex.out, 500, "cannot store upload\n");
    ex.out.close = true;
    store_->drop_upload(ex.session->id());
    abort(ex);
    return false;
  }
  ex.received += chunk.size();
  if (cut) {
    drop_request(ex);
    return false;
  }
  return true;
}

void dispatcher::drop_request(exchange& ex) {
  abort(ex);
  ex.out = reply{};
  ex.out.drop = true;
}

void dispatcher::finish(exchange& ex) {
  try {
    switch (ex.where.kind) {
      case route_kind::token: return finish_token_post(ex);
      case route_kind::manifest: return finish_manifest_put(ex);
      case route_kind::upload_start:
      case route_kind::upload: return finish_upload(ex);
      default: return;
    }
  } catch (const std::exception& e) {
    abort(ex);
    ex.out = reply{};
    set_text(ex.out, 500, std::string("internal error: ") + e.what() + "\n");
  }
}

void dispatcher::abort(exchange& ex) noexcept {
  if (ex.session_acquired && ex.session) ex.session->release();
  ex.session_acquired = false;
}

}  // namespace coras::server::detail

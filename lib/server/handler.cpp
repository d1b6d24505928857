#include "server/handler.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/reference.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>

#include <ctime>

namespace coras::server {

std::string request_record::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (detail::iequals(k, name)) return v;
  return {};
}

namespace detail {
namespace {

constexpr std::string_view json_type = "application/json; charset=utf-8";
constexpr std::string_view octet_stream = "application/octet-stream";

std::optional<std::string> param(const boost::urls::params_view& ps, std::string_view key) {
  auto it = ps.find(key);
  if (it == ps.end()) return std::nullopt;
  return std::string((*it).value);
}

bool is_read(verb v) noexcept { return v == verb::get || v == verb::head; }

void set_text(reply& out, unsigned status, std::string text,
              std::string_view type = "text/plain; charset=utf-8") {
  out.status = status;
  out.text = std::move(text);
  out.set("Content-Type", std::string(type));
}

// Go's mux answer for paths it does not route (and distribution's for a
// disabled Referrers API): clients take this exact body as "not supported".
void set_page_not_found(reply& out) { set_text(out, 404, "404 page not found\n"); }

std::string upload_location(std::string_view name, std::string_view id) {
  std::string s = "/v2/";
  s += name;
  s += "/blobs/uploads/";
  s += id;
  return s;
}

std::string blob_location(std::string_view name, const digest& d) {
  std::string s = "/v2/";
  s += name;
  s += "/blobs/";
  s += d.str();
  return s;
}

// The upload's state, as every upload response carries it.
void set_upload_headers(reply& out, std::string_view name, const upload& u) {
  out.set("Location", upload_location(name, u.id()));
  // An empty upload says "0-0", as distribution does.
  out.set("Range", "0-" + std::to_string(u.size() == 0 ? 0 : u.size() - 1));
  out.set("Docker-Upload-UUID", u.id());
}

std::string rfc3339_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

void set_error(reply& out, registry_errc code, std::string_view detail, unsigned status) {
  out.status = status ? status : default_status(code);
  out.text = error_body(code, {}, detail);
  out.set("Content-Type", std::string(json_type));
}

// ---- hooks ----

void hooks::record(request_record r) {
  std::lock_guard lock(mutex_);
  if (log_capacity_ == 0) return;
  if (log_.size() >= log_capacity_) log_.pop_front();
  log_.push_back(std::move(r));
}

std::vector<request_record> hooks::log() const {
  std::lock_guard lock(mutex_);
  return {log_.begin(), log_.end()};
}

void hooks::clear_log() {
  std::lock_guard lock(mutex_);
  log_.clear();
}

void hooks::cut_blob_gets(std::deque<std::uint64_t> offsets) {
  std::lock_guard lock(mutex_);
  cuts_ = std::move(offsets);
}

void hooks::cut_uploads(std::deque<std::uint64_t> offsets) {
  std::lock_guard lock(mutex_);
  upload_cuts_ = std::move(offsets);
}

void hooks::set_status_fault(status_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    status_.reset();
  else
    status_ = std::move(f);
}

void hooks::set_delay_fault(delay_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    delay_.reset();
  else
    delay_ = std::move(f);
}

void hooks::set_header_fault(header_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    header_.reset();
  else
    header_ = std::move(f);
}

void hooks::set_redirect(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  std::lock_guard lock(mutex_);
  redirect_ = std::move(base_url);
}

void hooks::clear_faults() {
  std::lock_guard lock(mutex_);
  cuts_.clear();
  upload_cuts_.clear();
  status_.reset();
  delay_.reset();
  header_.reset();
  redirect_.clear();
}

std::optional<status_fault> hooks::take_status_fault(std::string_view path) {
  std::lock_guard lock(mutex_);
  if (!status_ || path.find(status_->path_contains) == std::string_view::npos) return std::nullopt;
  auto f = *status_;
  if (--status_->count == 0) status_.reset();
  return f;
}

std::optional<delay_fault> hooks::take_delay_fault(std::string_view path) {
  std::lock_guard lock(mutex_);
  if (!delay_ || path.find(delay_->path_contains) == std::string_view::npos) return std::nullopt;
  auto f = *delay_;
  if (--delay_->count == 0) delay_.reset();
  return f;
}

std::optional<header_fault> hooks::take_header_fault(std::string_view path,
                                                     std::string_view method) {
  std::lock_guard lock(mutex_);
  if (!header_ || path.find(header_->path_contains) == std::string_view::npos ||
      (!header_->method.empty() && !iequals(header_->method, method)))
    return std::nullopt;
  auto f = *header_;
  if (--header_->count == 0) header_.reset();
  return f;
}

std::optional<std::uint64_t> hooks::take_cut() {
  std::lock_guard lock(mutex_);
  if (cuts_.empty()) return std::nullopt;
  auto n = cuts_.front();
  cuts_.pop_front();
  return n;
}

std::optional<std::uint64_t> hooks::take_upload_cut() {
  std::lock_guard lock(mutex_);
  if (upload_cuts_.empty()) return std::nullopt;
  auto n = upload_cuts_.front();
  upload_cuts_.pop_front();
  return n;
}

std::string hooks::redirect_base() const {
  std::lock_guard lock(mutex_);
  return redirect_;
}

// ---- dispatcher ----

dispatcher::dispatcher(const registry_options& options, std::shared_ptr<storage> store, hooks& h)
    : options_(options), store_(std::move(store)), hooks_(h) {}

std::string dispatcher::realm(const exchange& ex) const {
  if (!options_.token_realm.empty()) return options_.token_realm;
  std::string r = ex.head.tls ? "https://" : "http://";
  r += ex.head.host.empty() ? std::string_view(default_host_) : ex.head.host;
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
    if (c && c->username == options_.basic_auth->username &&
        c->password == options_.basic_auth->password)
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
    case route_kind::manifest: return handle_manifest(ex);
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

// ---- token endpoint ----

void dispatcher::token_reply(exchange& ex, const std::vector<scope>& granted, bool with_refresh,
                             const std::string& user) {
  const auto token = tokens_.issue(granted, clock::now(), options_.token_lifetime);
  boost::json::object o;
  o["token"] = token;
  o["access_token"] = token;
  o["expires_in"] = options_.token_lifetime.count();
  o["issued_at"] = rfc3339_now();
  if (with_refresh) o["refresh_token"] = tokens_.issue_refresh(user);
  set_text(ex.out, 200, boost::json::serialize(o), json_type);
}

// Authenticated users get every action they ask for; anonymous ones get pull
// when anonymous pull is on, nothing otherwise (Docker Hub's behaviour).
static std::vector<scope> grant(const std::vector<scope>& requested, bool authenticated,
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

void dispatcher::handle_token_get(exchange& ex, const boost::urls::params_view& params) {
  bool authenticated = false;
  std::string user;
  if (!ex.head.authorization.empty()) {
    auto c = parse_basic(ex.head.authorization);
    if (!c || c->username != options_.token_auth->username ||
        c->password != options_.token_auth->password) {
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
    if (param(form, "username").value_or("") != creds.username ||
        param(form, "password").value_or("") != creds.password) {
      set_error(ex.out, registry_errc::unauthorized, "invalid credentials");
      return;
    }
    return token_reply(ex, grant(scopes, true, options_.anonymous_pull), true, creds.username);
  }
  if (grant_type == "refresh_token") {
    auto user = tokens_.refresh_user(param(form, "refresh_token").value_or(""));
    if (!user) {
      set_error(ex.out, registry_errc::unauthorized, "invalid refresh token");
      return;
    }
    return token_reply(ex, grant(scopes, true, options_.anonymous_pull), false, *user);
  }
  set_text(ex.out, 400, R"({"error":"unsupported_grant_type"})", json_type);
}

// ---- catalog and tags ----

void dispatcher::handle_list(exchange& ex, const boost::urls::params_view& params) {
  std::optional<std::size_t> n;
  if (auto text = param(params, "n")) parse_count(*text, n);  // malformed: no limit
  const auto last = param(params, "last").value_or("");
  std::vector<std::string> list;
  std::string path;
  if (ex.where.kind == route_kind::catalog) {
    list = store_->repositories();
    path = "/v2/_catalog";
  } else {
    auto tags = store_->tags(ex.where.name);
    if (!tags) return set_error(ex.out, registry_errc::name_unknown, ex.where.name);
    list = std::move(*tags);
    path = "/v2/" + ex.where.name + "/tags/list";
  }
  const auto p = paginate(list, n, last);
  set_text(ex.out, 200,
           ex.where.kind == route_kind::catalog ? catalog_json(list, p.begin, p.end)
                                                : tags_json(ex.where.name, list, p.begin, p.end),
           json_type);
  if (p.more) ex.out.set("Link", next_link(path, *n, list[p.end - 1]));
}

// ---- manifests ----

void dispatcher::handle_manifest(exchange& ex) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  const auto& ref = ex.where.reference;
  const auto method = ex.head.method;
  const bool by_digest = ref.find(':') != std::string::npos;
  std::optional<digest> d;
  if (by_digest) {
    std::string why;
    auto parsed = digest::try_parse(ref, &why);
    if (!parsed) return set_error(out, registry_errc::digest_invalid, why);
    d = *parsed;
  } else if (auto problem = check_tag(ref); !problem.empty()) {
    return method == verb::put ? set_error(out, registry_errc::manifest_invalid, problem)
                               : set_error(out, registry_errc::manifest_unknown, problem);
  }

  switch (method) {
    case verb::get:
    case verb::head: {
      if (!store_->repository_exists(name))
        return set_error(out, registry_errc::name_unknown, name);
      auto m = store_->find_manifest(name, ref);
      if (!m) return set_error(out, registry_errc::manifest_unknown, ref);
      out.set("Content-Type", m->media_type);
      out.set("Docker-Content-Digest", m->digest.str());
      out.set("ETag", '"' + m->digest.str() + '"');
      out.length = m->bytes->size();
      out.memory = std::move(m->bytes);
      out.head_only = method == verb::head;
      return;
    }
    case verb::put:
      if (ex.head.content_length && *ex.head.content_length > options_.max_manifest_bytes) {
        set_error(out, registry_errc::size_invalid,
                  "manifest larger than " + std::to_string(options_.max_manifest_bytes) + " bytes",
                  413);
        return;
      }
      ex.sink = body_sink::collect;
      ex.limit = options_.max_manifest_bytes;
      ex.expected = d;
      return;
    case verb::delete_: {
      const bool gone =
          by_digest ? store_->delete_manifest(name, *d) : store_->delete_tag(name, ref);
      if (!gone) return set_error(out, registry_errc::manifest_unknown, ref);
      out.status = 202;
      return;
    }
    default: return set_error(out, registry_errc::unsupported);
  }
}

void dispatcher::finish_manifest_put(exchange& ex) {
  if (ex.head.method != verb::put) return;
  auto& out = ex.out;
  const auto& name = ex.where.name;
  auto bytes = std::make_shared<const std::string>(std::move(ex.collected));
  std::string why;
  auto facts = analyze_manifest(ex.head.content_type, *bytes, &why);
  if (!facts) return set_error(out, registry_errc::manifest_invalid, why);

  const auto algorithm = ex.expected ? ex.expected->algorithm() : digest_algorithm::sha256;
  const auto actual = digest::of(*bytes, algorithm);
  if (ex.expected && actual != *ex.expected)
    return set_error(out, registry_errc::digest_invalid,
                     "manifest digest is " + actual.str() + ", not " + ex.expected->str());
  for (const auto& b : facts->blobs)
    if (!store_->has_blob(name, b))
      return set_error(out, registry_errc::manifest_blob_unknown, b.str());
  for (const auto& m : facts->manifests)
    if (!store_->has_manifest(name, m))
      return set_error(out, registry_errc::manifest_blob_unknown, m.str());

  store_->put_manifest(name, actual, bytes, *facts, ex.expected ? "" : ex.where.reference);
  out.status = 201;
  out.set("Location", "/v2/" + name + "/manifests/" + actual.str());
  out.set("Docker-Content-Digest", actual.str());
  if (facts->subject && options_.referrers_api)
    out.set("OCI-Subject", facts->subject->digest.str());
}

// ---- blobs ----

void dispatcher::handle_blob(exchange& ex) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  const auto method = ex.head.method;
  std::string why;
  auto d = digest::try_parse(ex.where.reference, &why);
  if (!d) return set_error(out, registry_errc::digest_invalid, why);

  if (method == verb::delete_) {
    if (!store_->delete_blob(name, *d))
      return set_error(out, registry_errc::blob_unknown, d->str());
    out.status = 202;
    return;
  }
  if (!is_read(method)) return set_error(out, registry_errc::unsupported);
  if (!store_->repository_exists(name)) return set_error(out, registry_errc::name_unknown, name);
  auto b = store_->find_blob(name, *d);
  if (!b) return set_error(out, registry_errc::blob_unknown, d->str());

  if (method == verb::get) {
    if (auto base = hooks_.redirect_base(); !base.empty()) {
      out.status = 307;
      out.set("Location", base + blob_location(name, *d));
      return;
    }
  }
  out.set("Content-Type", std::string(octet_stream));
  out.set("Docker-Content-Digest", d->str());
  out.set("ETag", '"' + d->str() + '"');
  if (options_.range_requests) out.set("Accept-Ranges", "bytes");
  out.offset = 0;
  out.length = b->size;
  if (method == verb::get && options_.range_requests && !ex.head.range.empty()) {
    byte_range r;
    switch (parse_range(ex.head.range, b->size, r)) {
      case range_result::whole: break;
      case range_result::unsatisfiable:
        out.status = 416;
        out.set("Content-Range", "bytes */" + std::to_string(b->size));
        return;
      case range_result::partial:
        out.status = 206;
        out.set("Content-Range", "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) +
                                     "/" + std::to_string(b->size));
        out.offset = r.first;
        out.length = r.last - r.first + 1;
        break;
    }
  }
  out.memory = std::move(b->memory);
  out.file = std::move(b->file);
  if (!out.memory && out.file.empty()) out.memory = std::make_shared<const std::string>();
  out.head_only = method == verb::head;
  if (method == verb::get) out.cut_after = hooks_.take_cut();
}

// ---- uploads ----

void dispatcher::handle_upload_start(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  if (auto mount = param(params, "mount")) {
    auto from = param(params, "from");
    auto d = digest::try_parse(*mount);
    if (options_.mount && from && d && check_repository(*from).empty() &&
        store_->mount_blob(*from, name, *d)) {
      out.status = 201;
      out.set("Location", blob_location(name, *d));
      out.set("Docker-Content-Digest", d->str());
      return;
    }
  } else if (auto text = param(params, "digest")) {
    // Monolithic upload: the body is the blob.
    std::string why;
    auto d = digest::try_parse(*text, &why);
    if (!d) return set_error(out, registry_errc::digest_invalid, why);
    ex.session = store_->start_upload(name);
    ex.session_acquired = ex.session->try_acquire();
    ex.expected = *d;
    ex.sink = body_sink::upload;
    if (ex.head.content_length) ex.session->reserve(*ex.head.content_length);
    return;
  }
  auto session = store_->start_upload(name);
  out.status = 202;
  set_upload_headers(out, name, *session);
}

void dispatcher::handle_upload(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  auto session = store_->find_upload(name, ex.where.reference);
  if (!session) return set_error(out, registry_errc::blob_upload_unknown, ex.where.reference);
  switch (ex.head.method) {
    case verb::get:
      out.status = 204;
      set_upload_headers(out, name, *session);
      return;
    case verb::delete_:
      store_->drop_upload(session->id());
      out.status = 204;
      return;
    case verb::patch:
    case verb::put: break;
    default: return set_error(out, registry_errc::unsupported);
  }
  std::optional<digest> expected;
  if (ex.head.method == verb::put) {
    std::string why;
    auto text = param(params, "digest");
    if (!text) return set_error(out, registry_errc::digest_invalid, "digest parameter missing");
    auto d = digest::try_parse(*text, &why);
    if (!d) return set_error(out, registry_errc::digest_invalid, why);
    expected = *d;
  }
  if (!ex.head.content_range.empty()) {
    auto r = parse_content_range(ex.head.content_range);
    if (!r) return set_error(out, registry_errc::blob_upload_invalid, "malformed Content-Range");
    if (r->first != session->size()) {
      set_error(out, registry_errc::blob_upload_invalid,
                "Content-Range starts at " + std::to_string(r->first) + ", upload is at " +
                    std::to_string(session->size()),
                416);
      set_upload_headers(out, name, *session);
      return;
    }
    if (ex.head.content_length && *ex.head.content_length != r->last - r->first + 1)
      return set_error(out, registry_errc::size_invalid,
                       "Content-Range and Content-Length disagree");
  }
  if (!session->try_acquire())
    return set_error(out, registry_errc::blob_upload_invalid, "upload in use by another request");
  ex.session = std::move(session);
  ex.session_acquired = true;
  ex.expected = expected;
  ex.sink = body_sink::upload;
  if (ex.head.content_length) ex.session->reserve(*ex.head.content_length);
  if (ex.head.has_body()) ex.cut_after = hooks_.take_upload_cut();
}

void dispatcher::finish_upload(exchange& ex) {
  if (ex.sink != body_sink::upload || !ex.session) return;
  auto& out = ex.out;
  const auto& name = ex.where.name;
  // The whole body arrived before the cut point: stored, and the response lost.
  if (ex.cut_after) return drop_request(ex);
  if (ex.head.method == verb::patch) {
    out.status = 202;
    set_upload_headers(out, name, *ex.session);
    abort(ex);  // releases the session for the next request
    return;
  }
  std::string actual;
  const auto status = store_->commit_upload(ex.session, *ex.expected, &actual);
  abort(ex);
  switch (status) {
    case storage::commit_status::committed:
      out.status = 201;
      out.set("Location", blob_location(name, *ex.expected));
      out.set("Docker-Content-Digest", ex.expected->str());
      return;
    case storage::commit_status::digest_mismatch:
      return set_error(out, registry_errc::digest_invalid,
                       "content digest is " + actual + ", not " + ex.expected->str());
    case storage::commit_status::io_error: set_text(out, 500, "cannot store blob\n"); return;
  }
}

// ---- referrers ----

void dispatcher::handle_referrers(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  std::string why;
  auto subject = digest::try_parse(ex.where.reference, &why);
  if (!subject) return set_error(out, registry_errc::digest_invalid, why);
  const auto artifact_type = param(params, "artifactType").value_or("");
  std::optional<std::size_t> n;
  if (auto text = param(params, "n")) parse_count(*text, n);
  const auto last = param(params, "last").value_or("");

  // An unknown repository is an empty list too: a 404 here would tell clients
  // that the API is missing.
  auto all = store_->referrers(ex.where.name, *subject, artifact_type);
  std::vector<std::string> keys;
  keys.reserve(all.size());
  for (const auto& d : all) keys.push_back(d.digest.str());
  const auto p = paginate(keys, n, last);

  image_index index;
  index.media_type = media_type::oci_index;
  index.manifests.assign(
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(p.begin)),
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(p.end)));
  set_text(out, 200, index.to_json(), media_type::oci_index);
  if (!artifact_type.empty()) out.set("OCI-Filters-Applied", "artifactType");
  if (p.more)
    out.set("Link", next_link("/v2/" + ex.where.name + "/referrers/" + subject->str(), *n,
                              keys[p.end - 1], artifact_type));
}

}  // namespace detail
}  // namespace coras::server

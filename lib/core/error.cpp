#include <coras/core/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cctype>
#include <utility>

namespace coras {
namespace {

class coras_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "coras"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::not_found: return "not found";
      case errc::unauthorized: return "unauthorized";
      case errc::denied: return "denied";
      case errc::unsupported: return "unsupported";
      case errc::too_many_requests: return "too many requests";
      case errc::invalid_reference: return "invalid reference";
      case errc::invalid_digest: return "invalid digest";
      case errc::unsupported_digest: return "unsupported digest algorithm";
      case errc::invalid_manifest: return "invalid manifest";
      case errc::digest_mismatch: return "digest mismatch";
      case errc::size_mismatch: return "size mismatch";
      case errc::size_limit_exceeded: return "size limit exceeded";
      case errc::invalid_response: return "invalid response";
      case errc::registry_error: return "registry error";
      case errc::timeout: return "timed out";
      case errc::too_many_redirects: return "too many redirects";
      case errc::referrers_capability_conflict: return "referrers capability already set";
      case errc::referrers_gc_failed: return "failed to delete a dangling referrers index";
      case errc::invalid_argument: return "invalid argument";
      case errc::referrers_index_conflict: return "the referrers index kept changing";
    }
    return "unknown coras error";
  }
};

struct registry_code_info {
  registry_errc code;
  std::string_view name;
  errc condition;
};

// The spec's table, with the client condition each code means.
constexpr std::array<registry_code_info, 14> registry_codes{{
    {registry_errc::blob_unknown, "BLOB_UNKNOWN", errc::not_found},
    {registry_errc::blob_upload_invalid, "BLOB_UPLOAD_INVALID", errc::registry_error},
    {registry_errc::blob_upload_unknown, "BLOB_UPLOAD_UNKNOWN", errc::not_found},
    {registry_errc::digest_invalid, "DIGEST_INVALID", errc::digest_mismatch},
    {registry_errc::manifest_blob_unknown, "MANIFEST_BLOB_UNKNOWN", errc::registry_error},
    {registry_errc::manifest_invalid, "MANIFEST_INVALID", errc::invalid_manifest},
    {registry_errc::manifest_unknown, "MANIFEST_UNKNOWN", errc::not_found},
    {registry_errc::name_invalid, "NAME_INVALID", errc::invalid_reference},
    {registry_errc::name_unknown, "NAME_UNKNOWN", errc::not_found},
    {registry_errc::size_invalid, "SIZE_INVALID", errc::size_mismatch},
    {registry_errc::unauthorized, "UNAUTHORIZED", errc::unauthorized},
    {registry_errc::denied, "DENIED", errc::denied},
    {registry_errc::unsupported, "UNSUPPORTED", errc::unsupported},
    {registry_errc::too_many_requests, "TOOMANYREQUESTS", errc::too_many_requests},
}};

const registry_code_info* find_info(registry_errc e) noexcept {
  for (const auto& info : registry_codes) {
    if (info.code == e) return &info;
  }
  return nullptr;
}

class registry_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "oci-distribution"; }
  std::string message(int ev) const override {
    const auto* info = find_info(static_cast<registry_errc>(ev));
    return info ? std::string(info->name) : "unknown registry error code";
  }
  // Lets `ec == errc::not_found` hold for MANIFEST_UNKNOWN and friends.
  bool equivalent(int ev, const boost::system::error_condition& cond) const noexcept override {
    const auto* info = find_info(static_cast<registry_errc>(ev));
    return info && cond.category() == coras_category() &&
           cond.value() == static_cast<int>(info->condition);
  }
};

// What http.StatusText gives for the statuses registries use; used when an
// error body carries no OCI error list.
std::string_view status_text(unsigned status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

// oras-go reads at most this much of an error body.
constexpr std::size_t max_error_body = 8 * 1024;

}  // namespace

const boost::system::error_category& coras_category() noexcept {
  static const coras_category_impl instance;
  return instance;
}

const boost::system::error_category& registry_category() noexcept {
  static const registry_category_impl instance;
  return instance;
}

error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), coras_category()}; }

boost::system::error_condition make_error_condition(errc e) noexcept {
  return {static_cast<int>(e), coras_category()};
}

error_code make_error_code(registry_errc e) noexcept {
  return {static_cast<int>(e), registry_category()};
}

std::string_view to_string(registry_errc e) noexcept {
  const auto* info = find_info(e);
  return info ? info->name : std::string_view("UNKNOWN");
}

bool parse_registry_errc(std::string_view code, registry_errc& out) noexcept {
  for (const auto& info : registry_codes) {
    if (info.name == code) {
      out = info.code;
      return true;
    }
  }
  return false;
}

std::string registry_error_entry::to_string() const {
  std::string out;
  out.reserve(code.size() + message.size() + detail.size() + 4);
  for (char c : code) {
    out += c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (message.empty()) return out;
  out += ": ";
  out += message;
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

error_code registry_error::code() const noexcept {
  if (!errors.empty()) {
    registry_errc e{};
    if (parse_registry_errc(errors.front().code, e)) return make_error_code(e);
  }
  switch (status) {
    case 401: return make_error_code(errc::unauthorized);
    case 403: return make_error_code(errc::denied);
    case 404: return make_error_code(errc::not_found);
    case 405: return make_error_code(errc::unsupported);
    case 429: return make_error_code(errc::too_many_requests);
    default: return make_error_code(errc::registry_error);
  }
}

std::string registry_error::to_string() const {
  std::string msg;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) msg += "; ";
    msg += errors[i].to_string();
  }
  if (errors.empty()) msg = status_text(status);
  std::string out = method;
  out += " \"";
  out += url;
  out += "\": response status code ";
  out += std::to_string(status);
  out += ": ";
  out += msg;
  return out;
}

registry_error parse_registry_error(unsigned status, std::string_view method, std::string_view url,
                                    std::string_view body) {
  registry_error result;
  result.status = status;
  result.method = method;
  result.url = strip_credentials(url);

  if (body.size() > max_error_body) body = body.substr(0, max_error_body);
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return result;
  const auto* list = doc.as_object().if_contains("errors");
  if (!list || !list->is_array()) return result;

  std::vector<registry_error_entry> entries;
  for (const auto& item : list->as_array()) {
    // An entry of the wrong shape means the body is not the spec's document;
    // keep nothing rather than half of it (Go's decoder fails the same way).
    if (!item.is_object()) return result;
    const auto& obj = item.as_object();
    registry_error_entry entry;
    if (const auto* c = obj.if_contains("code")) {
      if (!c->is_string()) return result;
      entry.code = c->as_string();
    }
    if (const auto* m = obj.if_contains("message")) {
      if (!m->is_string()) return result;
      entry.message = m->as_string();
    }
    if (const auto* d = obj.if_contains("detail"); d && !d->is_null()) {
      entry.detail = boost::json::serialize(*d);
    }
    entries.push_back(std::move(entry));
  }
  result.errors = std::move(entries);
  return result;
}

std::string strip_credentials(std::string_view url) {
  // Textual, not through Boost.URL: its parser (1.81) reads
  // "https://user:p@ss@host/" as userinfo "user:p" and host "ss@host", so
  // removing the userinfo it found printed the rest of the password; and a
  // URL it cannot parse must be stripped all the same. The authority follows
  // "scheme://" (or the "//" of a network-path reference) and ends at the
  // first '/', '?' or '#'; its userinfo is everything up to its last '@'.
  std::size_t start = 0;
  if (url.starts_with("//")) {
    start = 2;
  } else {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos || url.find_first_of("/?#") < scheme_end)
      return std::string(url);
    start = scheme_end + 3;
  }
  const auto authority = url.substr(start, url.find_first_of("/?#", start) - start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(start + at + 1));
}

error::error(error_code ec, const std::string& what_arg)
    : system_error(ec), message_(std::make_shared<const std::string>(what_arg)) {}

error::error(registry_error response)
    : system_error(response.code()),
      message_(std::make_shared<const std::string>(response.to_string())),
      registry_(std::make_shared<const registry_error>(std::move(response))) {}

}  // namespace coras

namespace coras {

void diagnostics::assign(const std::exception_ptr& e) {
  clear();
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const coras::error& ex) {
    message_ = ex.what();
    if (ex.registry()) registry_ = std::make_shared<const registry_error>(*ex.registry());
  } catch (const std::exception& ex) {
    message_ = ex.what();
  } catch (...) {
    message_ = "unknown failure";
  }
}

}  // namespace coras

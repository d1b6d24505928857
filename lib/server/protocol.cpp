#include "server/protocol.hpp"

#include "core/base64.hpp"
#include "core/text.hpp"
#include "http/grammar.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/reference.hpp>
#include <coras/http/fields.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace coras::server::detail {
namespace {

using http::grammar::trim_ows;

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

// Digits only (no sign, no spaces), without overflow.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

void random_bytes(unsigned char* p, std::size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

}  // namespace

route parse_route(std::string_view path) {
  route r;
  if (path == "/token") {
    r.kind = route_kind::token;
    return r;
  }
  if (path == "/v2" || path == "/v2/") {
    r.kind = route_kind::base;
    return r;
  }
  if (!path.starts_with("/v2/")) return r;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") {
    r.kind = route_kind::catalog;
    return r;
  }

  std::string_view name, tail;
  constexpr std::string_view tags_suffix = "/tags/list";
  if (rest.ends_with(tags_suffix)) {
    r.kind = route_kind::tags_list;
    name = rest.substr(0, rest.size() - tags_suffix.size());
  } else {
    // The marker that appears last wins: a repository may be called "a/blobs/b".
    static constexpr std::array<std::string_view, 3> markers{"/manifests/", "/blobs/",
                                                             "/referrers/"};
    std::size_t best = std::string_view::npos;
    std::string_view marker;
    for (auto m : markers) {
      auto p = rest.rfind(m);
      if (p != std::string_view::npos && (best == std::string_view::npos || p > best)) {
        best = p;
        marker = m;
      }
    }
    if (best == std::string_view::npos) return r;
    name = rest.substr(0, best);
    tail = rest.substr(best + marker.size());
    if (marker == "/manifests/") {
      r.kind = route_kind::manifest;
    } else if (marker == "/referrers/") {
      r.kind = route_kind::referrers;
    } else if (tail == "uploads" || tail == "uploads/") {
      r.kind = route_kind::upload_start;
      tail = {};
    } else if (tail.starts_with("uploads/")) {
      r.kind = route_kind::upload;
      tail.remove_prefix(8);
    } else {
      r.kind = route_kind::blob;
    }
    if (r.kind != route_kind::upload_start &&
        (tail.empty() || tail.find('/') != std::string_view::npos)) {
      r.kind = route_kind::not_found;
      return r;
    }
  }
  if (name.empty()) {
    r.kind = route_kind::not_found;
    return r;
  }
  r.name = name;
  r.reference = tail;
  r.name_problem = check_repository(name);
  return r;
}

page paginate(const std::vector<std::string>& sorted, std::optional<std::size_t> n,
              std::string_view last) {
  page p;
  p.begin =
      last.empty()
          ? 0
          : static_cast<std::size_t>(std::upper_bound(sorted.begin(), sorted.end(), last,
                                                      [](std::string_view l, const std::string& e) {
                                                        return l < std::string_view(e);
                                                      }) -
                                     sorted.begin());
  p.end = sorted.size();
  if (n) {
    p.end = std::min(sorted.size(), p.begin + *n);
    p.more = *n > 0 && p.end < sorted.size();
  }
  return p;
}

boost::system::result<std::vector<std::string>> put_tags(const boost::urls::params_view& params,
                                                         std::string* why) {
  std::vector<std::string> tags;
  for (const auto& p : params) {
    if (p.key != "tag") continue;
    if (auto problem = check_tag(p.value); !problem.empty()) {
      if (why) *why = "tag parameter \"" + p.value + "\": " + problem;
      return make_error_code(errc::invalid_reference);
    }
    if (std::find(tags.begin(), tags.end(), p.value) != tags.end()) continue;
    if (tags.size() == max_put_tags) {
      if (why)
        *why = "more than " + std::to_string(max_put_tags) + " tag parameters in one request";
      return make_error_code(errc::size_limit_exceeded);
    }
    tags.push_back(p.value);
  }
  return tags;
}

bool parse_count(std::string_view text, std::optional<std::size_t>& out) {
  std::uint64_t v = 0;
  if (!parse_u64(text, v)) return false;
  out = static_cast<std::size_t>(std::min<std::uint64_t>(v, 1u << 30));
  return true;
}

std::string next_link(std::string_view path, std::size_t n, std::string_view last,
                      std::string_view artifact_type) {
  // '+' must be escaped: Go's query parser (docker, oras) reads it as a space,
  // and media types are full of it ("…manifest.v1+json").
  static constexpr boost::urls::grammar::lut_chars safe =
      boost::urls::unreserved_chars + boost::urls::grammar::lut_chars(":/@");
  std::string query = "n=" + std::to_string(n);
  query += "&last=";
  query += boost::urls::encode(last, safe);
  if (!artifact_type.empty()) {
    query += "&artifactType=";
    query += boost::urls::encode(artifact_type, safe);
  }
  boost::urls::url u;
  u.set_path(path);
  u.set_encoded_query(query);
  std::string out = "<";
  out += u.buffer();
  out += ">; rel=\"next\"";
  return out;
}

std::string_view default_message(registry_errc code) noexcept {
  switch (code) {
    case registry_errc::blob_unknown: return "blob unknown to registry";
    case registry_errc::blob_upload_invalid: return "blob upload invalid";
    case registry_errc::blob_upload_unknown: return "blob upload unknown to registry";
    case registry_errc::digest_invalid: return "provided digest did not match uploaded content";
    case registry_errc::manifest_blob_unknown: return "blob unknown to registry";
    case registry_errc::manifest_invalid: return "manifest invalid";
    case registry_errc::manifest_unknown: return "manifest unknown";
    case registry_errc::name_invalid: return "invalid repository name";
    case registry_errc::name_unknown: return "repository name not known to registry";
    case registry_errc::size_invalid: return "provided length did not match content length";
    case registry_errc::unauthorized: return "authentication required";
    case registry_errc::denied: return "requested access to the resource is denied";
    case registry_errc::unsupported: return "The operation is unsupported.";
    case registry_errc::too_many_requests: return "too many requests";
  }
  return "unknown error";
}

unsigned default_status(registry_errc code) noexcept {
  switch (code) {
    case registry_errc::blob_unknown:
    case registry_errc::blob_upload_unknown:
    case registry_errc::manifest_unknown:
    case registry_errc::name_unknown: return 404;
    case registry_errc::unauthorized: return 401;
    case registry_errc::denied: return 403;
    case registry_errc::unsupported: return 405;
    case registry_errc::too_many_requests: return 429;
    default: return 400;
  }
}

namespace {

// `s` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD. Boost.JSON writes strings as they are: a detail that
// quotes a client's bytes (a malformed digest) made the error body invalid
// JSON, which JSON parsers that check UTF-8 (Boost.JSON's, so coras's own
// client) refuse, losing the error code.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c < 0x80)
      n = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const unsigned char b = byte(i + k);
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string error_body(registry_errc code, std::string_view message, std::string_view detail) {
  boost::json::object entry;
  entry["code"] = to_string(code);
  entry["message"] = valid_utf8(message.empty() ? default_message(code) : message);
  if (!detail.empty()) entry["detail"] = valid_utf8(detail);
  boost::json::array errors;
  errors.push_back(std::move(entry));
  boost::json::object body;
  body["errors"] = std::move(errors);
  return boost::json::serialize(body);
}

std::optional<credentials> parse_basic(std::string_view authorization) {
  authorization = trim_ows(authorization);
  if (!starts_with_ci(authorization, "basic ")) return std::nullopt;
  auto decoded = coras::detail::base64_decode(trim_ows(authorization.substr(6)));
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::string_view parse_bearer(std::string_view authorization) {
  authorization = trim_ows(authorization);
  if (!starts_with_ci(authorization, "bearer ")) return {};
  return trim_ows(authorization.substr(7));
}

std::string random_uuid() {
  std::array<unsigned char, 16> b{};
  random_bytes(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = coras::detail::to_hex(b.data(), b.size());
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  random_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return coras::detail::to_hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

boost::system::result<manifest_facts> analyze_manifest(std::string_view content_type,
                                                       std::string_view bytes, std::string* why) {
  auto fail = [&](std::string message) -> boost::system::result<manifest_facts> {
    if (why) *why = std::move(message);
    return make_error_code(registry_errc::manifest_invalid);
  };
  manifest_summary summary;
  try {
    summary = summarize_manifest(bytes);
  } catch (const coras::error& e) {
    return fail(e.what());
  }
  std::string type;
  const auto header_type = http::grammar::media_type_of(content_type);
  if (media_type::is_manifest(header_type)) type = header_type;
  if (!summary.media_type.empty()) {
    if (!type.empty() && type != summary.media_type)
      return fail("mediaType \"" + summary.media_type + "\" does not match Content-Type \"" + type +
                  "\"");
    type = summary.media_type;
  }
  if (type.empty()) {  // neither says: take the shape that parses
    if (image_manifest::try_parse(bytes))
      type = media_type::oci_manifest;
    else if (image_index::try_parse(bytes))
      type = media_type::oci_index;
    else
      return fail("no media type, and the document is neither a manifest nor an index");
  }
  if (!media_type::is_manifest(type))
    return fail("unsupported manifest media type \"" + type + "\"");

  manifest_facts f;
  f.media_type = type;
  std::string parse_why;
  if (media_type::is_index(type)) {
    auto m = image_index::try_parse(bytes, &parse_why);
    if (!m) return fail(parse_why);
    for (const auto& d : m->manifests) f.manifests.push_back(d.digest);
    f.artifact_type = m->artifact_type;
    f.subject = m->subject;
    f.annotations = m->annotations;
  } else if (type == media_type::oci_artifact_manifest) {
    auto m = artifact_manifest::try_parse(bytes, &parse_why);
    if (!m) return fail(parse_why);
    for (const auto& d : m->blobs)
      if (d.urls.empty()) f.blobs.push_back(d.digest);
    f.artifact_type = m->artifact_type;
    f.subject = m->subject;
    f.annotations = m->annotations;
  } else {
    auto m = image_manifest::try_parse(bytes, &parse_why);
    if (!m) return fail(parse_why);
    f.blobs.push_back(m->config.digest);
    for (const auto& d : m->layers)
      if (d.urls.empty()) f.blobs.push_back(d.digest);  // foreign layers live elsewhere
    f.artifact_type = m->artifact_type.empty() ? m->config.media_type : m->artifact_type;
    f.subject = m->subject;
    f.annotations = m->annotations;
  }
  return f;
}

std::string tags_json(std::string_view name, const std::vector<std::string>& tags,
                      std::size_t begin, std::size_t end) {
  boost::json::array list;
  list.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) list.emplace_back(tags[i]);
  boost::json::object o;
  o["name"] = name;
  o["tags"] = std::move(list);
  return boost::json::serialize(o);
}

std::string catalog_json(const std::vector<std::string>& repos, std::size_t begin,
                         std::size_t end) {
  boost::json::array list;
  list.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) list.emplace_back(repos[i]);
  boost::json::object o;
  o["repositories"] = std::move(list);
  return boost::json::serialize(o);
}

bool is_protected(std::string_view name, bool send_body) {
  return http::iequals(name, "Connection") ||
         (send_body &&
          (http::iequals(name, "Content-Length") || http::iequals(name, "Transfer-Encoding")));
}

void render_head(std::string& out, const reply& r, std::string_view reason, bool keep_alive,
                 bool send_body, bool chunked) {
  const auto* fault = r.header_edits ? &*r.header_edits : nullptr;
  auto faulted = [&](std::string_view name) {  // dropped or replaced by the fault
    if (!fault || is_protected(name, send_body)) return false;
    for (const auto& n : fault->remove)
      if (http::iequals(n, name)) return true;
    for (const auto& h : fault->set)
      if (http::iequals(h.first, name)) return true;
    return false;
  };
  auto add = [&](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  auto add_unless_faulted = [&](std::string_view name, std::string_view value) {
    if (!faulted(name)) add(name, value);
  };

  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason;
  out += "\r\n";
  add_unless_faulted("Docker-Distribution-Api-Version", "registry/2.0");
  for (const auto& h : r.headers) add_unless_faulted(h.name, h.value);
  if (chunked)
    add("Transfer-Encoding", "chunked");
  else if (r.status != 204 && r.status >= 200 && !(fault && fault->unknown_length))
    add_unless_faulted("Content-Length", std::to_string(r.body_size()));
  if (fault)
    for (const auto& [name, value] : fault->set)
      if (!is_protected(name, send_body)) add(name, value);
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (chunked && r.body_size() > 0) {
    char size[16];
    out.append(size, std::to_chars(size, size + sizeof size, r.body_size(), 16).ptr);
    out += "\r\n";
  }
}

}  // namespace coras::server::detail

#include "protocol.hpp"

#include "core/text.hpp"
#include "http/grammar.hpp"
#include "http/protocol.hpp"

#include <coras/core/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace coras::remote::detail {
namespace {

template <class T>
boost::system::result<T> fail(std::string* why, errc e, std::string msg) {
  if (why) *why = std::move(msg);
  return make_error_code(e);
}

using http::grammar::trim_ows;

// `reference` resolved against `base`, or an error message.
boost::system::result<std::string> resolve(std::string_view base, std::string_view reference,
                                           std::string* why) {
  auto b = boost::urls::parse_absolute_uri(base);
  auto r = boost::urls::parse_uri_reference(reference);
  boost::urls::url out;
  if (!b || !r || !boost::urls::resolve(*b, *r, out))
    return fail<std::string>(why, errc::invalid_response,
                             "cannot resolve \"" + std::string(reference) + "\"");
  return std::string(out.buffer());
}

// The same host and port, and no downgrade from https.
bool same_origin_or_upgrade(std::string_view from, std::string_view to) {
  auto a = http::detail::split_url(from);
  auto b = http::detail::split_url(to);
  if (!a || !b) return false;
  if (a->origin.host != b->origin.host) return false;
  if (a->origin.tls() && !b->origin.tls()) return false;
  return a->origin.port == b->origin.port || (!a->origin.tls() && b->origin.tls());
}

}  // namespace

std::string registry_host(std::string_view registry) {
  return registry == "docker.io" ? "registry-1.docker.io" : std::string(registry);
}

std::string hub_repository(std::string_view registry, std::string_view repository) {
  if (registry == "docker.io" && repository.find('/') == std::string_view::npos)
    return "library/" + std::string(repository);
  return std::string(repository);
}

boost::system::result<std::optional<std::string>> next_page(std::string_view request_url,
                                                            std::optional<std::string_view> link,
                                                            std::string* why) {
  using result = boost::system::result<std::optional<std::string>>;
  if (!link || trim_ows(*link).empty()) return std::optional<std::string>();
  auto value = trim_ows(*link);
  if (value.front() != '<')
    return fail<std::optional<std::string>>(
        why, errc::invalid_response,
        "invalid next link \"" + std::string(value) + "\": missing '<'");
  auto close = value.find('>');
  if (close == std::string_view::npos)
    return fail<std::optional<std::string>>(
        why, errc::invalid_response,
        "invalid next link \"" + std::string(value) + "\": missing '>'");
  auto url = resolve(request_url, value.substr(1, close - 1), why);
  if (!url) return result(url.error());
  auto from = http::detail::split_url(request_url);
  auto to = http::detail::split_url(*url);
  if (!from || !to || !(from->origin == to->origin))
    return fail<std::optional<std::string>>(why, errc::invalid_response,
                                            "refusing a next link to another origin: " + *url);
  return std::optional<std::string>(std::move(*url));
}

boost::system::result<std::string> upload_location(std::string_view request_url,
                                                   std::string_view location, std::string* why) {
  if (trim_ows(location).empty())
    return fail<std::string>(why, errc::invalid_response, "upload response has no Location");
  auto url = resolve(request_url, trim_ows(location), why);
  if (!url) return url;
  if (!same_origin_or_upgrade(request_url, *url))
    return fail<std::string>(
        why, errc::invalid_response,
        "refusing an upload Location on another origin or without TLS: " + *url);
  return url;
}

boost::system::result<std::uint64_t> checked_blob_size(std::int64_t size,
                                                       std::uint64_t max_blob_bytes,
                                                       std::string_view what, std::string* why) {
  if (size < 0)
    return fail<std::uint64_t>(
        why, errc::invalid_response,
        std::string(what) + " has a negative size (" + std::to_string(size) + ")");
  const auto n = static_cast<std::uint64_t>(size);
  if (max_blob_bytes > 0 && n > max_blob_bytes)
    return fail<std::uint64_t>(why, errc::size_limit_exceeded,
                               std::string(what) + " claims " + std::to_string(n) +
                                   " bytes, above the limit of " + std::to_string(max_blob_bytes) +
                                   " bytes (repository_options::max_blob_bytes)");
  return n;
}

boost::system::result<std::int64_t> checked_content_length(std::uint64_t length,
                                                           std::uint64_t max_blob_bytes,
                                                           std::string_view what,
                                                           std::string* why) {
  if (length > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return fail<std::int64_t>(why, errc::invalid_response,
                              std::string(what) + ": Content-Length " + std::to_string(length) +
                                  " does not fit a descriptor's size");
  auto n = checked_blob_size(static_cast<std::int64_t>(length), max_blob_bytes, what, why);
  if (!n) return n.error();
  return static_cast<std::int64_t>(*n);
}

bool needs_body_digest(const manifest_response& r) noexcept {
  return r.docker_content_digest.empty() && r.method != "HEAD";
}

boost::system::result<descriptor> manifest_descriptor(const manifest_response& r,
                                                      const digest* reference_digest,
                                                      const digest* body_digest, std::string* why) {
  descriptor d;
  d.media_type = http::grammar::media_type_of(r.content_type);
  if (d.media_type.empty())
    return fail<descriptor>(why, errc::invalid_response,
                            std::string(r.method) + ": invalid response Content-Type \"" +
                                std::string(r.content_type) + "\"");
  if (!r.content_length)
    return fail<descriptor>(why, errc::invalid_response,
                            std::string(r.method) + ": unknown response Content-Length");
  {
    // No size limit here (manifests have their own, when read): only the
    // range a descriptor can hold.
    std::string size_why;
    auto size = checked_content_length(*r.content_length, 0, "manifest", &size_why);
    if (!size)
      return fail<descriptor>(why, errc::invalid_response, std::string(r.method) + ": " + size_why);
    d.size = *size;
  }

  if (!r.docker_content_digest.empty()) {
    std::string digest_why;
    auto parsed = digest::try_parse(r.docker_content_digest, &digest_why);
    if (!parsed)
      return fail<descriptor>(
          why, errc::invalid_response,
          std::string(r.method) + ": invalid Docker-Content-Digest header: " + digest_why);
    d.digest = std::move(*parsed);
  } else if (r.method == "HEAD") {
    if (!reference_digest)
      return fail<descriptor>(
          why, errc::invalid_response,
          "HTTP HEAD request missing required header \"Docker-Content-Digest\"");
    d.digest = *reference_digest;  // nothing else to go on: trust the caller's digest
  } else {
    if (!body_digest)
      return fail<descriptor>(why, errc::invalid_response,
                              "the body's digest is needed but was not computed");
    d.digest = *body_digest;
  }
  if (reference_digest && *reference_digest != d.digest)
    return fail<descriptor>(why, errc::digest_mismatch,
                            std::string(r.method) + ": digest mismatch: received " +
                                d.digest.str() + " when expecting " + reference_digest->str());
  return d;
}

std::string referrers_tag(const digest& subject) {
  auto alg = subject.algorithm_name().substr(0, 32);
  auto hex = subject.hex().substr(0, 64);
  return std::string(alg) + "-" + std::string(hex);
}

namespace {
bool is_empty_entry(const descriptor& d) {
  return d.media_type.empty() && d.digest.empty() && d.size == 0;
}
}  // namespace

std::optional<std::vector<descriptor>> apply_referrer_changes(
    const std::vector<descriptor>& old, const std::vector<referrer_change>& changes) {
  // An index comes from the registry and may be huge: entries are found by
  // a key on the three fields that make them the same (linear; a search of
  // the list per entry was quadratic). Removed entries are marked, not
  // erased, and dropped at the end, so the original order is kept.
  auto key = [](const descriptor& d) {
    return d.digest.str() + '\n' + std::to_string(d.size) + '\n' + d.media_type;
  };
  std::vector<descriptor> out;
  std::vector<bool> removed;
  std::unordered_map<std::string, std::size_t> at;  // key -> live position in `out`
  out.reserve(old.size() + changes.size());
  at.reserve(old.size() + changes.size());
  bool cleaned = false;
  for (const auto& d : old) {
    if (is_empty_entry(d) || !at.emplace(key(d), out.size()).second) {
      cleaned = true;  // a bad or duplicate entry: rewrite even if nothing else changes
      continue;
    }
    out.push_back(d);
    removed.push_back(false);
  }
  std::size_t live = out.size();
  for (const auto& c : changes) {
    auto k = key(c.referrer);
    auto it = at.find(k);
    const bool present = it != at.end() && !removed[it->second];
    if (c.add && !present) {
      at.insert_or_assign(std::move(k), out.size());
      out.push_back(c.referrer);
      removed.push_back(false);
      ++live;
    } else if (!c.add && present) {
      removed[it->second] = true;
      --live;
    }
  }
  // Unchanged when the same entries are live (order aside).
  if (!cleaned && live == old.size() &&
      std::all_of(old.begin(), old.end(), [&](const auto& d) { return !removed[at.at(key(d))]; }))
    return std::nullopt;
  std::vector<descriptor> result;
  result.reserve(live);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!removed[i]) result.push_back(std::move(out[i]));
  return result;
}

bool filter_applied(std::string_view list, std::string_view filter) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (trim_ows(list.substr(0, comma)) == filter) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::vector<descriptor> filter_referrers(std::vector<descriptor> list,
                                         std::string_view artifact_type) {
  if (artifact_type.empty()) return list;
  std::erase_if(list, [&](const descriptor& d) { return d.artifact_type != artifact_type; });
  return list;
}

std::string digest_algorithm_query(digest_algorithm a) {
  if (a == digest_algorithm::sha256) return {};
  return "?digest-algorithm=" + std::string(to_string(a));
}

std::string tag_query(const std::vector<std::string>& tags) {
  std::string q;
  for (const auto& t : tags) {
    q += q.empty() ? "?tag=" : "&tag=";
    q += coras::detail::query_escape(t);
  }
  return q;
}

std::vector<std::string> oci_tags(const std::vector<std::string_view>& header_values) {
  std::vector<std::string> out;
  for (auto value : header_values) {
    for (;;) {
      const auto comma = value.find(',');
      auto item = http::grammar::trim_ows(value.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return out;
}

namespace {
// An entry's identity for referrer_changes_hold (what same_entry compares).
std::string entry_key(const descriptor& d) {
  return d.media_type + ' ' + d.digest.str() + ' ' + std::to_string(d.size);
}
}  // namespace

bool referrer_changes_hold(const std::vector<descriptor>& list,
                           const std::vector<referrer_change>& changes) {
  std::unordered_map<std::string, bool> want;  // key -> listed
  for (const auto& c : changes) want[entry_key(c.referrer)] = c.add;
  std::size_t present = 0;
  std::unordered_set<std::string> seen;
  for (const auto& d : list) {
    auto key = entry_key(d);
    auto w = want.find(key);
    if (w == want.end()) continue;
    if (!w->second) return false;  // removed, yet listed
    if (seen.insert(std::move(key)).second) ++present;
  }
  const auto wanted = static_cast<std::size_t>(
      std::count_if(want.begin(), want.end(), [](const auto& w) { return w.second; }));
  return present == wanted;
}

std::chrono::milliseconds referrers_settle_pause(std::chrono::milliseconds base,
                                                 std::chrono::milliseconds took, double random01) {
  using std::chrono::milliseconds;
  const auto unit = std::clamp(std::max(base, took), milliseconds(0), milliseconds(5'000));
  random01 = std::clamp(random01, 0.0, 1.0);
  return unit +
         milliseconds(static_cast<std::int64_t>(static_cast<double>(unit.count()) * random01));
}

std::chrono::milliseconds referrers_retry_pause(std::chrono::milliseconds base, std::size_t retry,
                                                double random01) {
  using std::chrono::milliseconds;
  const milliseconds cap(2'000);
  base = std::clamp(base, milliseconds(0), cap);
  auto bound = base;
  for (std::size_t i = 0; i < retry && bound < cap; ++i) bound *= 2;
  bound = std::min(bound, cap);
  random01 = std::clamp(random01, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(bound.count()) * random01));
}

}  // namespace coras::remote::detail

#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>

#include "text.hpp"

#include <boost/url/grammar/parse.hpp>
#include <boost/url/rfc/ipv6_address_rule.hpp>

namespace coras {
namespace {

using detail::quote;

// The distribution spec caps a repository name, registry included, at 255.
constexpr std::size_t max_name_length = 255;
constexpr std::size_t max_tag_length = 128;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

std::string at(std::size_t pos) { return " at position " + std::to_string(pos); }

std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    static constexpr char digits[] = "0123456789abcdef";
    return std::string("byte 0x") + digits[u >> 4] + digits[u & 0xf];
  }
  return std::string("'") + c + "'";
}

// host [":" port]; host is a domain name (which covers IPv4) or "[" IPv6 "]".
std::string registry_problem(std::string_view s) {
  if (s.empty()) return "registry is empty";
  std::string_view host = s;
  std::size_t port_at = std::string_view::npos;
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return "IPv6 address has no closing ']'";
    auto addr = s.substr(1, close - 1);
    if (!boost::urls::grammar::parse(addr, boost::urls::ipv6_address_rule))
      return "\"" + std::string(addr) + "\" is not an IPv6 address";
    host = s.substr(0, close + 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':')
        return "unexpected " + show_char(s[close + 1]) + at(close + 1) + " after IPv6 address";
      port_at = close + 1;
    }
  } else {
    auto colon = s.find(':');
    if (colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port_at = colon;
    }
    // domain-component ("." domain-component)*, component = alnum | alnum [alnum-]* alnum
    std::size_t start = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
      if (i < host.size() && host[i] != '.') {
        char c = host[i];
        if (!is_alnum(c) && c != '-')
          return "unexpected " + show_char(c) + at(i) + " in registry host";
        continue;
      }
      if (i == start) return "empty host component" + at(i) + " in registry";
      if (host[start] == '-' || host[i - 1] == '-')
        return "host component \"" + std::string(host.substr(start, i - start)) +
               "\" starts or ends with '-'";
      start = i + 1;
    }
  }
  if (port_at != std::string_view::npos) {
    auto port = s.substr(port_at + 1);
    if (port.empty()) return "empty port after ':'" + at(port_at);
    unsigned long value = 0;
    for (std::size_t i = 0; i < port.size(); ++i) {
      if (port[i] < '0' || port[i] > '9')
        return "unexpected " + show_char(port[i]) + at(port_at + 1 + i) + " in port";
      value = value * 10 + static_cast<unsigned>(port[i] - '0');
      if (value > 65535) return "port " + std::string(port) + " is out of range";
    }
    if (value == 0) return "port 0 is not a valid port";
  }
  return {};
}

// path-component ("/" path-component)*; component = [a-z0-9]+ (sep [a-z0-9]+)*
// sep = [._] | "__" | "-"+
std::string repository_problem(std::string_view s) {
  if (s.empty()) return "repository is empty";
  std::size_t i = 0;
  while (true) {
    // alnum run
    if (i >= s.size() || !is_lower_alnum(s[i])) {
      if (i >= s.size()) return "repository ends with a separator";
      char c = s[i];
      if (c >= 'A' && c <= 'Z')
        return "upper-case " + show_char(c) + at(i) + " (repositories are lower-case)";
      if (c == '/') return "empty path component" + at(i);
      return "path component must start with [a-z0-9], found " + show_char(c) + at(i);
    }
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    if (i == s.size()) return {};
    char c = s[i];
    if (c == '/') {
      ++i;
      continue;
    }
    std::size_t sep_at = i;
    if (c == '.') {
      ++i;
    } else if (c == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (c == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else if (c >= 'A' && c <= 'Z') {
      return "upper-case " + show_char(c) + at(i) + " (repositories are lower-case)";
    } else {
      return "unexpected " + show_char(c) + at(i) + " in repository";
    }
    if (i >= s.size() || !is_lower_alnum(s[i])) {
      if (i < s.size() && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
        return "invalid separator sequence" + at(sep_at);
      return "separator " + show_char(s[sep_at]) + at(sep_at) + " must be followed by [a-z0-9]";
    }
  }
}

std::string tag_problem(std::string_view s) {
  if (s.empty()) return "tag is empty";
  if (s.size() > max_tag_length)
    return "tag is " + std::to_string(s.size()) + " characters long (at most 128)";
  if (!is_word(s[0])) return "tag must start with [A-Za-z0-9_], found " + show_char(s[0]);
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
      return "unexpected " + show_char(s[i]) + at(i) + " in tag";
  }
  return {};
}

using ref_result = boost::system::result<reference>;

ref_result fail(std::string_view input, std::string_view problem, std::string* why) {
  if (why) *why = "invalid reference " + quote(input) + ": " + std::string(problem);
  return make_error_code(errc::invalid_reference);
}

}  // namespace

std::string check_registry(std::string_view s) { return registry_problem(s); }
std::string check_repository(std::string_view s) { return repository_problem(s); }
std::string check_tag(std::string_view s) { return tag_problem(s); }

// object_kind says how to read `object`: a tag, a digest, or "guess" (':' means digest).
boost::system::result<reference> reference::build(std::string_view input, std::string_view registry,
                                                  std::string_view repository,
                                                  std::string_view object, object_kind kind,
                                                  std::string* why) {
  if (auto p = registry_problem(registry); !p.empty())
    return fail(input, "registry \"" + std::string(registry) + "\": " + p, why);
  if (auto p = repository_problem(repository); !p.empty())
    return fail(input, "repository \"" + std::string(repository) + "\": " + p, why);
  if (registry.size() + 1 + repository.size() > max_name_length)
    return fail(input, "name is longer than 255 characters", why);
  reference ref;
  ref.registry_ = registry;
  ref.repository_ = repository;
  return with_object(std::move(ref), input, object, kind, why);
}

boost::system::result<reference> reference::with_object(reference ref, std::string_view input,
                                                        std::string_view object, object_kind kind,
                                                        std::string* why) {
  if (object.empty()) return ref;
  if (kind == object_kind::guess)
    kind = object.find(':') == std::string_view::npos ? object_kind::tag : object_kind::digest;
  if (kind == object_kind::tag) {
    if (auto p = tag_problem(object); !p.empty())
      return fail(input, "tag \"" + std::string(object) + "\": " + p, why);
  } else {
    std::string digest_why;
    auto d = ::coras::digest::try_parse(object, &digest_why);
    if (!d) return fail(input, digest_why, why);
    ref.digest_ = std::move(*d);
  }
  ref.object_ = object;
  return ref;
}

boost::system::result<reference> reference::same_name(std::string_view input,
                                                      std::string_view object, object_kind kind,
                                                      std::string* why) const {
  // Only a parsed reference has a name to trust; a default-constructed one
  // fails as before.
  if (registry_.empty() || repository_.empty())
    return build(input, registry_, repository_, object, kind, why);
  reference ref;
  ref.registry_ = registry_;
  ref.repository_ = repository_;
  return with_object(std::move(ref), input, object, kind, why);
}

boost::system::result<reference> reference::try_parse(std::string_view s, std::string* why) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos)
    return fail(s, "missing registry or repository (expected registry/repository[:tag|@digest])",
                why);
  std::string_view registry = s.substr(0, slash);
  std::string_view path = s.substr(slash + 1);
  if (auto atsign = path.find('@'); atsign != std::string_view::npos) {
    // name[:tag]@digest — the digest is what the reference means; a tag beside
    // it is dropped (as oras-go does) but must still be a well-formed tag.
    std::string_view name = path.substr(0, atsign);
    if (auto colon = name.find(':'); colon != std::string_view::npos) {
      if (auto p = tag_problem(name.substr(colon + 1)); !p.empty())
        return fail(s, "tag \"" + std::string(name.substr(colon + 1)) + "\": " + p, why);
      name = name.substr(0, colon);
    }
    std::string_view object = path.substr(atsign + 1);
    if (object.empty()) return fail(s, "empty digest after '@'", why);
    return build(s, registry, name, object, object_kind::digest, why);
  }
  if (auto colon = path.find(':'); colon != std::string_view::npos) {
    std::string_view object = path.substr(colon + 1);
    if (object.empty()) return fail(s, "empty tag after ':'", why);
    return build(s, registry, path.substr(0, colon), object, object_kind::tag, why);
  }
  return build(s, registry, path, {}, object_kind::tag, why);
}

reference reference::parse(std::string_view s) {
  std::string why;
  auto r = try_parse(s, &why);
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

reference reference::from_parts(std::string_view registry, std::string_view repository,
                                std::string_view tag_or_digest) {
  std::string input = std::string(registry) + "/" + std::string(repository);
  if (!tag_or_digest.empty())
    input += (tag_or_digest.find(':') != std::string_view::npos ? "@" : ":") +
             std::string(tag_or_digest);
  std::string why;
  auto r = build(input, registry, repository, tag_or_digest, object_kind::guess, &why);
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

boost::system::result<reference> reference::try_resolve(std::string_view s,
                                                        std::string* why) const {
  if (s.find('/') != std::string_view::npos) {
    // Tags and digests never contain '/': this is meant as a full reference.
    auto full = try_parse(s, why);
    if (!full) return full;
    if (full->registry_ != registry_ || full->repository_ != repository_)
      return fail(
          s, "mismatch between received \"" + full->str() + "\" and expected \"" + name() + "\"",
          why);
    if (full->object_.empty()) return fail(s, "no tag or digest", why);
    return full;
  }
  if (s.empty()) return fail(s, "empty tag or digest", why);
  if (auto atsign = s.find('@'); atsign != std::string_view::npos) {
    // `@` implies a digest; whatever stands before it is dropped, as in oras-go.
    std::string_view object = s.substr(atsign + 1);
    if (object.empty()) return fail(s, "empty digest after '@'", why);
    return same_name(s, object, object_kind::digest, why);
  }
  return same_name(s, s, object_kind::guess, why);
}

reference reference::resolve(std::string_view s) const {
  std::string why;
  auto r = try_resolve(s, &why);
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

reference reference::with(std::string_view tag_or_digest) const {
  std::string why;
  auto r = same_name(tag_or_digest, tag_or_digest, object_kind::guess, &why);
  if (!r) throw error(r.error(), why);
  return std::move(*r);
}

std::string reference::name() const { return registry_ + "/" + repository_; }

std::string reference::str() const {
  std::string out = name();
  if (object_.empty()) return out;
  out += has_digest() ? '@' : ':';
  out += object_;
  return out;
}

}  // namespace coras

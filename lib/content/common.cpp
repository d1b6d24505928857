#include "common.hpp"

#include "detail/offload.hpp"

#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <vector>

namespace coras::content::detail {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_separator(char c) noexcept {
  return c == '-' || c == '.' || c == '_' || c == ':' || c == '@' || c == '+';
}

// component ::= alphanum (separator alphanum)*, separator ::= [-._:@+] | "--"
bool valid_component(std::string_view c) noexcept {
  std::size_t i = 0;
  auto alnum_run = [&] {
    std::size_t start = i;
    while (i < c.size() && is_alnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    if (c.compare(i, 2, "--") == 0)
      i += 2;
    else if (is_separator(c[i]))
      ++i;
    else
      return false;
    if (!alnum_run()) return false;
  }
  return true;
}

std::string size_text(std::uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

void check_descriptor(const descriptor& d, std::string_view what) {
  if (d.digest.empty())
    throw error(errc::invalid_digest, std::string(what) + ": the descriptor has no digest");
  if (d.size < 0)
    throw error(errc::size_mismatch,
                std::string(what) + " " + d.digest.str() + ": the descriptor's size is negative");
}

bool valid_ref_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  std::size_t start = 0;
  for (;;) {
    auto slash = name.find('/', start);
    auto part = name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!valid_component(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

parsed_reference parse_reference(std::string_view reference) {
  parsed_reference out;
  if (auto d = digest::try_parse(reference)) {
    out.digest = std::move(*d);
    return out;
  }
  if (!valid_ref_name(reference))
    throw error(
        errc::invalid_reference,
        "invalid reference \"" + std::string(reference) +
            "\": neither a digest nor a name of the image layout's grammar "
            "(components of [A-Za-z0-9] joined by one of -._:@+ or \"--\", separated by /)");
  out.name = std::string(reference);
  return out;
}

boost::asio::awaitable<void> read_verified(
    std::shared_ptr<byte_source> content, descriptor expected, byte_sink sink, std::size_t piece,
    const std::optional<boost::asio::any_io_executor>& work) {
  const auto want = static_cast<std::uint64_t>(expected.size);
  const std::string& name = expected.digest.str();
  if (auto announced = content->size(); announced && *announced != want)
    throw error(errc::size_mismatch, name + ": the content is " + size_text(*announced) +
                                         ", the descriptor says " + size_text(want));

  const bool self_checked = content->verified_digest() == expected.digest;
  digester hash(expected.digest.algorithm());

  if (auto whole = content->contiguous()) {
    // Already in memory: one piece, always hashed (contiguous() promises no check).
    if (whole->size() != want)
      throw error(errc::size_mismatch, name + ": the content is " + size_text(whole->size()) +
                                           ", the descriptor says " + size_text(want));
    const auto* p = static_cast<const char*>(whole->data());
    co_await coras::detail::offload(work, [&] {
      hash.update(std::string_view(p, whole->size()));
      if (hash.finish() != expected.digest)
        throw error(errc::digest_mismatch, "the content does not hash to " + name);
      sink(p, whole->size());
    });
    co_return;
  }

  std::vector<char> buffer(std::max<std::size_t>(piece, 4096));
  std::uint64_t seen = 0;
  for (;;) {
    // Never ask for more than one byte past the expected end: that byte, if
    // it comes, is enough to know the content is too long.
    std::uint64_t room = want - seen + 1;
    std::size_t ask = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), room));
    std::size_t n = co_await content->read(boost::asio::mutable_buffer(buffer.data(), ask));
    if (n == 0) break;
    seen += n;
    if (seen > want)
      throw error(errc::size_mismatch,
                  name + ": the content is longer than the descriptor's " + size_text(want));
    co_await coras::detail::offload(work, [&] {
      if (!self_checked) hash.update(std::string_view(buffer.data(), n));
      sink(buffer.data(), n);
    });
  }
  if (seen != want)
    throw error(errc::size_mismatch, name + ": the content is " + size_text(seen) +
                                         ", the descriptor says " + size_text(want));
  if (!self_checked && hash.finish() != expected.digest)
    throw error(errc::digest_mismatch, "the content does not hash to " + name);
}

std::optional<manifest_facts> read_manifest_facts(std::string_view json) {
  manifest_facts f;
  try {
    auto s = summarize_manifest(json);
    f.media_type = std::move(s.media_type);
    f.subject = std::move(s.subject);
    f.artifact_type =
        s.artifact_type.empty() ? std::move(s.config_media_type) : std::move(s.artifact_type);
    f.annotations = std::move(s.annotations);
  } catch (const error&) {
    return std::nullopt;
  }
  if (!f.media_type.empty()) {
    if (!media_type::is_manifest(f.media_type)) return std::nullopt;
    return f;
  }
  // `mediaType` is optional in OCI documents: tell them apart by shape.
  if (image_manifest::try_parse(json))
    f.media_type = std::string(media_type::oci_manifest);
  else if (image_index::try_parse(json))
    f.media_type = std::string(media_type::oci_index);
  else
    return std::nullopt;
  return f;
}

descriptor referrer_descriptor(const descriptor& m, const manifest_facts& facts) {
  descriptor d;
  d.media_type = m.media_type.empty() ? facts.media_type : m.media_type;
  d.digest = m.digest;
  d.size = m.size;
  d.artifact_type = facts.artifact_type;
  d.annotations = facts.annotations;
  return d;
}

}  // namespace coras::content::detail

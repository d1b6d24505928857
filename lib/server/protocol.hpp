// The registry's protocol decisions as pure functions: routing, Authorization,
// pagination, the spec's JSON bodies, manifest checks and the response head.
// No I/O here, so all of it is testable without sockets. The header grammars
// the client shares (Range, Content-Range, media types) are in
// lib/http/grammar.hpp.
#pragma once

#include "server/message.hpp"

#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/server/registry.hpp>

#include <boost/system/result.hpp>
#include <boost/url/params_view.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server::detail {

enum class route_kind {
  not_found,     // not a registry path: plain-text 404 as Go's mux answers
  base,          // /v2/
  catalog,       // /v2/_catalog
  tags_list,     // /v2/<name>/tags/list
  manifest,      // /v2/<name>/manifests/<reference>
  blob,          // /v2/<name>/blobs/<digest>
  upload_start,  // /v2/<name>/blobs/uploads/
  upload,        // /v2/<name>/blobs/uploads/<uuid>
  referrers,     // /v2/<name>/referrers/<digest>
  token,         // /token
};

struct route {
  route_kind kind = route_kind::not_found;
  std::string name;          // repository
  std::string reference;     // tag or digest, blob digest, upload uuid, subject digest
  std::string name_problem;  // non-empty: `name` breaks the grammar (400 NAME_INVALID)
};

/// Routes a percent-decoded path. Repository names contain slashes, so the
/// last `/manifests/`, `/blobs/`, `/referrers/` or `/tags/list` decides.
route parse_route(std::string_view path);

/// A page of a lexically sorted list after `last`, at most `n` entries.
struct page {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool more = false;  // entries remain after `end`
};
page paginate(const std::vector<std::string>& sorted, std::optional<std::size_t> n,
              std::string_view last);

/// `</path?n=N&last=X[&artifactType=T]>; rel="next"`, query percent-encoded.
std::string next_link(std::string_view path, std::size_t n, std::string_view last,
                      std::string_view artifact_type = {});

/// Tags one manifest PUT may create (`?tag=a&tag=b`) at most: the
/// distribution spec asks for at least 10; more is a 414.
inline constexpr std::size_t max_put_tags = 100;

/// The `tag` query parameters of a manifest PUT (distribution-spec "Pushing
/// Manifests", `PUT /v2/<name>/manifests/<digest>?tag=a&tag=b`), in order,
/// each once; empty when there are none. On failure `why` names the tag that
/// breaks the tag grammar, or says there are more than `max_put_tags`
/// (`errc::size_limit_exceeded`; `errc::invalid_reference` otherwise).
boost::system::result<std::vector<std::string>> put_tags(const boost::urls::params_view& params,
                                                         std::string* why);

/// `n` query parameter: nullopt when absent; false when malformed.
bool parse_count(std::string_view text, std::optional<std::size_t>& out);

/// The spec's error body: `{"errors":[{"code":…,"message":…,"detail":…}]}`.
/// `detail` is written as a JSON string when non-empty, omitted otherwise.
std::string error_body(registry_errc code, std::string_view message = {},
                       std::string_view detail = {});
/// Distribution's message for `code` ("manifest unknown").
std::string_view default_message(registry_errc code) noexcept;
/// Distribution's HTTP status for `code`.
unsigned default_status(registry_errc code) noexcept;

/// `Basic <base64(user:password)>`; nullopt when it is not that.
std::optional<credentials> parse_basic(std::string_view authorization);
/// The token of `Bearer <token>`; empty when it is not that.
std::string_view parse_bearer(std::string_view authorization);

/// A random RFC 4122 version-4 UUID (OpenSSL's RAND_bytes).
std::string random_uuid();
/// `bytes` random bytes as lower-case hex.
std::string random_hex(std::size_t bytes);

/// What a registry must know of a manifest it stores.
struct manifest_facts {
  std::string media_type;     // effective: Content-Type, else the body's mediaType
  std::string artifact_type;  // artifactType, else config.mediaType (referrers)
  std::optional<descriptor> subject;
  ::coras::annotations annotations;
  std::vector<digest> blobs;      // config and layers (without foreign `urls`), artifact blobs
  std::vector<digest> manifests;  // an index's children
};

/// Validates a manifest as pushed with `content_type` (may be empty): the
/// media types of header and body agree, and the document parses as its type.
/// On failure `why` says what is wrong (for a MANIFEST_INVALID detail).
boost::system::result<manifest_facts> analyze_manifest(std::string_view content_type,
                                                       std::string_view bytes, std::string* why);

/// `{"name":…,"tags":[…]}`
std::string tags_json(std::string_view name, const std::vector<std::string>& tags,
                      std::size_t begin, std::size_t end);
/// `{"repositories":[…]}`
std::string catalog_json(const std::vector<std::string>& repos, std::size_t begin, std::size_t end);

/// Whether a header fault leaves header `name` alone: `Connection` always, and
/// the framing headers (`Content-Length`, `Transfer-Encoding`) when a body
/// follows, so that the connection stays usable.
bool is_protected(std::string_view name, bool send_body);

/// The status line and headers of `r` into `out` (replacing its contents),
/// `reason` being the status's reason phrase. With `chunked`,
/// Transfer-Encoding replaces Content-Length and the head ends with the size
/// line of the body's only chunk. `r.header_edits` (a header fault) is applied
/// here because its names and values are arbitrary strings, which `r.headers`
/// cannot hold.
void render_head(std::string& out, const reply& r, std::string_view reason, bool keep_alive,
                 bool send_body, bool chunked);

}  // namespace coras::server::detail

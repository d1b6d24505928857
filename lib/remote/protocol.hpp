// Pure decisions of the repository layer (no I/O), tested on their own in
// test/unit/remote/protocol_test.cpp. The coroutines of lib/remote drive them.
#pragma once

#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::remote::detail {

/// The host to talk to for a registry name: `docker.io` is served by
/// `registry-1.docker.io` (as docker and oras do); others are themselves.
std::string registry_host(std::string_view registry);

/// A one-component repository on Docker Hub gets the `library/` prefix
/// (`docker.io/alpine` is `library/alpine`); anything else is unchanged.
std::string hub_repository(std::string_view registry, std::string_view repository);

/// The next page of a paginated listing (tags, catalog, referrers) from the
/// `Link` header of the response to `request_url`: nullopt when there is no
/// Link; an error when it is malformed, or points to another origin (oras-go
/// 2.6.2 refuses those: a registry must not steer the client elsewhere).
boost::system::result<std::optional<std::string>> next_page(std::string_view request_url,
                                                            std::optional<std::string_view> link,
                                                            std::string* why = nullptr);

/// Where to continue an upload: `location` resolved against `request_url`.
/// Refused when it names another host or downgrades https to http (the fix for
/// GHSA-jxpm-75mh-9fp7). An explicit `:443` on the request and none on the
/// Location are the same origin, which covers the seed's port-443 work-around.
boost::system::result<std::string> upload_location(std::string_view request_url,
                                                   std::string_view location,
                                                   std::string* why = nullptr);

/// What a manifest HEAD/GET response said, for `manifest_descriptor`.
/// What a manifest response says about its manifest: views of the response
/// (or of strings) that must outlive it.
struct manifest_response {
  std::string_view method;  ///< "HEAD" or "GET"
  std::string_view content_type;
  std::optional<std::uint64_t> content_length;
  std::string_view docker_content_digest;  ///< empty when the header was absent
};

/// True when the seed's truth table needs the digest of the body: a GET whose
/// response has no Docker-Content-Digest (hash a bounded read of it).
bool needs_body_digest(const manifest_response& r) noexcept;

/// The seed's generateDescriptor truth table:
///
/// | method | Docker-Content-Digest | reference is a digest | result                          |
/// |--------|-----------------------|-----------------------|---------------------------------|
/// | HEAD   | absent                | no (a tag)            | error: the header is required   |
/// | HEAD   | absent                | yes                   | the reference's digest          |
/// | GET    | absent                | either                | the digest of the body          |
/// | any    | present (valid)       | no                    | the header's digest             |
/// | any    | present (valid)       | yes, equal            | that digest                     |
/// | any    | present               | yes, different        | error: digest mismatch          |
///
/// plus: a malformed Content-Type, a missing Content-Length or a malformed
/// header digest are errors. `body_digest` is required when
/// `needs_body_digest(r)`; `reference_digest` is null for a tag.
boost::system::result<descriptor> manifest_descriptor(const manifest_response& r,
                                                      const digest* reference_digest,
                                                      const digest* body_digest,
                                                      std::string* why = nullptr);

/// A size from the network (`size` of a descriptor, of `what`: "blob
/// sha256:…") checked before it sizes a buffer, a file, a range plan or a
/// progress total: negative is `errc::invalid_response`; above
/// `max_blob_bytes` (0: no limit) is `errc::size_limit_exceeded`, and `why`
/// names the limit and `repository_options::max_blob_bytes`.
boost::system::result<std::uint64_t> checked_blob_size(std::int64_t size,
                                                       std::uint64_t max_blob_bytes,
                                                       std::string_view what,
                                                       std::string* why = nullptr);

/// A Content-Length as a descriptor size: above 2^63 - 1 (where it would turn
/// negative) is `errc::invalid_response`; then as `checked_blob_size`.
boost::system::result<std::int64_t> checked_content_length(std::uint64_t length,
                                                           std::uint64_t max_blob_bytes,
                                                           std::string_view what,
                                                           std::string* why = nullptr);

/// `?digest-algorithm=sha512` for an upload POST of a digest other than
/// sha256 (distribution-spec, "Pushing a blob in chunks"); empty for sha256,
/// which every registry assumes.
std::string digest_algorithm_query(digest_algorithm a);

/// The query of a manifest PUT that also tags (distribution-spec "Pushing
/// Manifests"): `?tag=a&tag=b`, each tag percent-encoded.
std::string tag_query(const std::vector<std::string>& tags);

/// The tags a registry says it created, from the values of its `OCI-Tag`
/// response headers (each a comma-separated list, RFC 9110 section 5.3),
/// trimmed, empty elements dropped.
std::vector<std::string> oci_tags(const std::vector<std::string_view>& header_values);

/// The referrers tag schema's tag for `subject`: `<alg>-<hex>`, the algorithm
/// cut to 32 characters and the hex to 64, as the distribution spec says
/// (oras-go does not cut; for sha256 both agree).
std::string referrers_tag(const digest& subject);

/// One change to a referrers index.
struct referrer_change {
  descriptor referrer;
  bool add = true;  ///< false: remove
};

/// The seed's applyReferrerChanges: `old` with empty and duplicate entries
/// dropped and `changes` applied in order (entries are the same when media
/// type, digest and size are). nullopt when the result is the same set as
/// `old`, so that no rewrite is needed.
std::optional<std::vector<descriptor>> apply_referrer_changes(
    const std::vector<descriptor>& old, const std::vector<referrer_change>& changes);

/// Whether a filters list (`OCI-Filters-Applied` header or the older
/// `org.opencontainers.referrers.filtersApplied` annotation, comma-separated)
/// names `filter`.
bool filter_applied(std::string_view list, std::string_view filter);

/// The referrers of `artifact_type` (all when it is empty).
std::vector<descriptor> filter_referrers(std::vector<descriptor> list,
                                         std::string_view artifact_type);

/// Whether the referrers index `list` (read back after an update) holds
/// `changes`: for each referrer, the last change naming it decides whether it
/// must be listed (add) or not (remove). Entries are the same as for
/// `apply_referrer_changes`. Linear in the sizes of both.
bool referrer_changes_hold(const std::vector<descriptor>& list,
                           const std::vector<referrer_change>& changes);

/// The random pause before the read-back of an update under the referrers
/// tag schema: between one and two times max(`base`, `took`) (`took`: how
/// long the update's read and write took), at most 10 s. `random01` in [0, 1].
std::chrono::milliseconds referrers_settle_pause(std::chrono::milliseconds base,
                                                 std::chrono::milliseconds took, double random01);
/// The random pause before retry `retry` (1, 2, …) of such an update: between
/// 0 and min(`base` * 2^retry, 2 s). `random01` in [0, 1].
std::chrono::milliseconds referrers_retry_pause(std::chrono::milliseconds base, std::size_t retry,
                                                double random01);

}  // namespace coras::remote::detail

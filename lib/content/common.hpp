// What the memory store and the OCI layout store share: checking a pushed
// body against its descriptor, the reference-name grammar of index.json, and
// reading what a manifest says about itself (media type, subject).
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/manifest.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace coras::content::detail {

/// The annotation that names a manifest in an image layout's index.json.
inline constexpr std::string_view ref_name_annotation = "org.opencontainers.image.ref.name";

/// Throws `errc::invalid_digest` / `errc::size_mismatch` for a descriptor no
/// content can match (empty digest, negative size). `what` names the operation.
void check_descriptor(const descriptor& d, std::string_view what);

/// True when `name` matches the image spec's grammar for
/// `org.opencontainers.image.ref.name`:
///   ref ::= component ("/" component)*
///   component ::= alphanum (separator alphanum)*
///   alphanum ::= [A-Za-z0-9]+      separator ::= [-._:@+] | "--"
bool valid_ref_name(std::string_view name) noexcept;

/// A reference given to `resolve`/`tag`: a digest, or a name. Throws
/// `errc::invalid_reference` when it is neither.
struct parsed_reference {
  std::optional<::coras::digest> digest;
  std::string name;  ///< set when `digest` is not
};
parsed_reference parse_reference(std::string_view reference);

/// Receives the verified stream's pieces, in order.
using byte_sink = std::function<void(const char* data, std::size_t n)>;

/// Reads `content` to its end and hands every piece to `sink`, checking that
/// it is exactly `expected.size` bytes and hashes to `expected.digest`. The
/// hash is skipped when the source's `verified_digest()` is that digest (it
/// then checks itself on its last read, which this always reaches). Throws
/// `errc::size_mismatch` / `errc::digest_mismatch`; the sink has then seen
/// unverified bytes, which the caller must discard. Reads in `piece`-byte
/// buffers. With `work`, the hashing and the sink run there, a piece at a
/// time (detail/offload.hpp), and the reads on the caller's executor.
boost::asio::awaitable<void> read_verified(
    std::shared_ptr<byte_source> content, descriptor expected, byte_sink sink, std::size_t piece,
    const std::optional<boost::asio::any_io_executor>& work = std::nullopt);

/// What a manifest says about itself, when `json` is one.
struct manifest_facts {
  std::string media_type;  ///< its `mediaType`, or what its shape says when absent
  std::optional<descriptor> subject;
  std::string artifact_type;  ///< `artifactType`, else `config.mediaType`
  ::coras::annotations annotations;
};
/// nullopt when `json` is not a manifest or index coras knows.
std::optional<manifest_facts> read_manifest_facts(std::string_view json);

/// The descriptor a predecessors listing returns for the manifest `m`
/// (media type, digest, size, artifact type, annotations — what the
/// Referrers API lists).
descriptor referrer_descriptor(const descriptor& m, const manifest_facts& facts);

}  // namespace coras::content::detail

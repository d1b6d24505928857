/// @file
/// A repository on a registry: blobs, manifests and tags (oras-go's
/// `registry/remote` `Repository`, `blobStore` and `manifestStore`), as
/// asynchronous operations. Protocol: the OCI distribution spec v1.1,
/// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>
#include <coras/detail/initiate.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/blob_reader.hpp>
#include <coras/remote/options.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace coras::remote {

struct repository_state;

/// Supplies the content of a blob when a mount falls back to an upload.
using content_factory = std::function<std::shared_ptr<byte_source>()>;

/// A handle to one repository on a registry: blobs, manifests, tags and
/// referrers, as asynchronous operations. Copies are cheap and share state
/// (options, the referrers capability).
///
/// @par Calling convention
/// Every operation is `async_x(args…, token)` and comes in two overloads: one
/// ending with the completion token, and one taking a `coras::diagnostics&`
/// before it (documented together below). The default token is
/// `coras::default_completion_token_t`, i.e.
/// `coras::with_diagnostics(boost::asio::use_awaitable)`: `co_await
/// repo.async_resolve("v1")` gives the value and throws `coras::error` on
/// failure, whose `what()` is the whole message and `registry()` the
/// registry's error response. Any other token (`as_tuple`, a callback,
/// `use_future`, `deferred`) receives the `error_code` alone; pass a
/// `diagnostics&` to keep the message: it is filled on failure and cleared on
/// success.
///
/// @par Handler signature
/// `void(error_code)` or `void(error_code, T)`, given on each operation. With
/// the default token the `co_await` expression has type `T` (or `void`).
///
/// @par Errors
/// Every operation may fail with `errc::not_found` (404; the registry's code,
/// e.g. MANIFEST_UNKNOWN, is in the diagnostics), `errc::unauthorized` /
/// `errc::denied`, `errc::digest_mismatch`, `errc::size_mismatch`,
/// `errc::invalid_response` (a reply the protocol does not allow),
/// `errc::invalid_reference`, plus the HTTP client's errors (`errc::timeout`,
/// `errc::too_many_redirects`, connection and TLS errors). Compare with the
/// `errc` conditions: `ec == errc::not_found` holds whatever the registry's
/// code.
///
/// @par Object lifetimes
/// Arguments are taken by value and moved into the operation. An operation
/// works on a copy of the handle's shared state, never on the handle itself:
/// the handle may be moved or destroyed while operations run, and a deferred
/// operation stays valid when the handle it was made from is moved. The
/// `http::client` must outlive the operations. A `diagnostics&` is kept by
/// address and must stay alive until the operation completes.
///
/// @par Executor
/// The work runs on the HTTP client's strand; the handler runs on its
/// associated executor (for `use_awaitable`, the awaiting coroutine's).
///
/// @par Per-operation cancellation
/// Terminal, for every operation, through the handler's associated
/// cancellation slot (e.g. `boost::asio::bind_cancellation_slot`): the
/// operation completes with `boost::asio::error::operation_aborted` and the
/// connection in use is closed.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: operations may be started from any
/// thread, on the same handle or on copies of it.
class repository {
 public:
  /// `ref` names the repository (its tag or digest, if any, is ignored). A
  /// one-component repository on `docker.io` gets the `library/` prefix, and
  /// `docker.io` is reached at `registry-1.docker.io`.
  repository(http::client client, const reference& ref, repository_options options = {});
  /// Parses `name` ("registry/repository"); throws `coras::error` (errc::invalid_reference).
  repository(http::client client, std::string_view name, repository_options options = {});

  /// `registry/repository` as given (after the `library/` prefix).
  const reference& ref() const noexcept;
  /// The options given at construction.
  const repository_options& options() const noexcept;
  /// The HTTP client the operations use.
  const http::client& client() const noexcept;

  /// Resolves a tag, digest or full reference against this repository
  /// (oras-go's `Repository.ParseReference`). Throws `coras::error` (errc::invalid_reference).
  reference parse_reference(std::string_view s) const;

  /// True when `desc` names a manifest by the configured manifest media types
  /// (so the manifest endpoints serve it), false for a blob.
  bool is_manifest(const descriptor& desc) const;

  // ---- content addressed by descriptor (manifest or blob by media type) ----

  /// @{
  /// Starts fetching `target` (routed by media type to the manifest or the blob
  /// endpoint); completes once the response header is checked (status,
  /// Content-Length, and for manifests Content-Type and Docker-Content-Digest).
  /// The body is then read, verified, through the returned `blob_reader`.
  ///
  /// @par Handler signature
  /// `void(error_code, blob_reader)`; `co_await` with the default token gives the
  /// `blob_reader`.
  ///
  /// @par Errors
  /// `errc::not_found` when the registry has no such content, and the errors listed
  /// on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch(descriptor target, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_start, nullptr, std::move(target),
                                            fetch_options{});
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch(descriptor target, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_start, &d, std::move(target),
                                            fetch_options{});
  }
  /// @}

  /// @{
  /// The same as `async_fetch`, from `options.offset` (`Range: bytes=<offset>-`),
  /// for a caller resuming a download it holds the first bytes of: the reader
  /// continues from `options.prefix`'s hash state and verifies the whole blob's
  /// digest at the end.
  ///
  /// @par Handler signature
  /// `void(error_code, blob_reader)`.
  ///
  /// @par Errors
  /// `errc::invalid_argument` for a manifest descriptor, or when `options.offset`
  /// is not 0 and `options.prefix` is missing; the errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_at(descriptor target, fetch_options options, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_start, nullptr, std::move(target),
                                            std::move(options));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_at(descriptor target, fetch_options options, diagnostics& d,
                      Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_start, &d, std::move(target),
                                            std::move(options));
  }
  /// @}

  /// @{
  /// HEAD on a blob: its response header fields after checking the status and
  /// Content-Length (oras-go's `blobStore.FetchHead`; spec "Checking if content
  /// exists in the registry").
  ///
  /// @par Handler signature
  /// `void(error_code, http::fields)`.
  ///
  /// @par Errors
  /// `errc::unsupported` for a manifest descriptor, `errc::not_found`, and the
  /// errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_head(descriptor target, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_head_start, nullptr,
                                            std::move(target));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_head(descriptor target, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_head_start, &d, std::move(target));
  }
  /// @}

  /// @{
  /// Pushes `content`, which must match `expected` (the size is checked before
  /// sending when the body knows its size; the registry checks the digest). A
  /// blob goes up as POST then PUT (monolithic, or in chunks above
  /// `transfer_options::chunked_threshold`); a manifest as a PUT by digest.
  /// Existing content is not checked first.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::size_mismatch` when `content`'s size is not `expected.size`, and the
  /// errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_push(descriptor expected, std::shared_ptr<byte_source> content, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_start, nullptr, std::move(expected),
                                            std::move(content));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push(descriptor expected, std::shared_ptr<byte_source> content, diagnostics& d,
                  Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_start, &d, std::move(expected),
                                            std::move(content));
  }
  /// @}

  /// @{
  /// Whether `target` exists (HEAD). A 404 is not an error here: it completes
  /// with `false`.
  ///
  /// @par Handler signature
  /// `void(error_code, bool)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_exists(descriptor target, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::exists_start, nullptr, std::move(target));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_exists(descriptor target, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::exists_start, &d, std::move(target));
  }
  /// @}

  /// @{
  /// Deletes `target` by digest (registries refuse DELETE by tag).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::not_found` when it is not there, and the errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_delete(descriptor target, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::delete_start, nullptr, std::move(target));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_delete(descriptor target, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::delete_start, &d, std::move(target));
  }
  /// @}

  /// @{
  /// Makes blob `desc` of repository `from` (same registry) available here
  /// without uploading it. A registry that cannot mount answers 202 and opens an
  /// upload; the blob is then pushed from `get_content()` when given, else
  /// streamed from `from` (verified on the way).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Object lifetimes
  /// `get_content` is moved into the operation and called on the HTTP client's
  /// strand, at most when the registry does not mount.
  template <class Token = ::coras::default_completion_token_t>
  auto async_mount(descriptor desc, std::string from, content_factory get_content,
                   Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::mount_start, nullptr, std::move(desc),
                                            std::move(from), std::move(get_content));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_mount(descriptor desc, std::string from, content_factory get_content, diagnostics& d,
                   Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::mount_start, &d, std::move(desc),
                                            std::move(from), std::move(get_content));
  }
  /// @}

  // ---- manifests by reference ----

  /// @{
  /// Resolves a tag or digest to a manifest descriptor (HEAD with the Accept
  /// list; oras-go's `generateDescriptor` rules; spec "Pulling manifests").
  ///
  /// @par Handler signature
  /// `void(error_code, descriptor)`.
  ///
  /// @par Errors
  /// `errc::invalid_reference` for a malformed `reference`, `errc::not_found`, and
  /// the errors listed on the class.
  ///
  /// @par Example
  /// @code
  /// coras::descriptor desc = co_await repo.async_resolve("v1");
  /// @endcode
  template <class Token = ::coras::default_completion_token_t>
  auto async_resolve(std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::resolve_start, nullptr,
                                            std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_resolve(std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::resolve_start, &d, std::move(reference));
  }
  /// @}

  /// @{
  /// Fetches a manifest by tag or digest: its descriptor and a reader of its
  /// content.
  ///
  /// @par Handler signature
  /// `void(error_code, fetched)`.
  ///
  /// @par Errors
  /// `errc::invalid_reference`, `errc::not_found`, and the errors listed on the
  /// class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_reference(std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_reference_start, nullptr,
                                            std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_reference(std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_reference_start, &d,
                                            std::move(reference));
  }
  /// @}

  /// @{
  /// Pushes a manifest under `reference` (a tag, or its digest); `content` must
  /// match `expected`.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_reference(descriptor expected, std::shared_ptr<byte_source> content,
                            std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(
        std::forward<Token>(token), *this, &repository::push_reference_start, nullptr,
        std::move(expected), std::move(content), std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_reference(descriptor expected, std::shared_ptr<byte_source> content,
                            std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(
        std::forward<Token>(token), *this, &repository::push_reference_start, &d,
        std::move(expected), std::move(content), std::move(reference));
  }
  /// @}

  /// @{
  /// Tags an existing manifest: fetches it by digest and pushes it again under
  /// `reference`.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_tag(descriptor desc, std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tag_start, nullptr, std::move(desc),
                                            std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_tag(descriptor desc, std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tag_start, &d, std::move(desc),
                                            std::move(reference));
  }
  /// @}

  /// @{
  /// Pushes a manifest by digest and points each of `tags` at it (oras-go's
  /// `oras.TagN` after a push). Each of `tags` is a tag, or a reference in
  /// this repository holding one; a repeated tag counts once. With more than
  /// one tag the push is one `PUT …/manifests/<digest>?tag=a&tag=b`
  /// (distribution-spec "Pushing Manifests"); a registry that does not
  /// create them (it answers without an `OCI-Tag` header for each, as
  /// distribution 2.8 does) gets one PUT per tag it did not confirm, and
  /// this handle and its copies send it one PUT per tag from then on. A
  /// manifest with a `subject` is pushed as `async_push_reference` pushes it
  /// (keeping the referrers index), then tagged. `content` must match
  /// `expected`, and is read into memory (up to
  /// `repository_options::max_metadata_bytes`).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::invalid_reference` for an entry of `tags` that holds no tag (a
  /// digest); `errc::size_limit_exceeded`; `errc::digest_mismatch`,
  /// `errc::size_mismatch` when `content` does not match `expected`; the
  /// errors listed on the class. A failure may leave some tags created.
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_reference_n(descriptor expected, std::shared_ptr<byte_source> content,
                              std::vector<std::string> tags, Token&& token = {}) {
    return ::coras::detail::initiate_member(
        std::forward<Token>(token), *this, &repository::push_reference_n_start, nullptr,
        std::move(expected), std::move(content), std::move(tags));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_reference_n(descriptor expected, std::shared_ptr<byte_source> content,
                              std::vector<std::string> tags, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(
        std::forward<Token>(token), *this, &repository::push_reference_n_start, &d,
        std::move(expected), std::move(content), std::move(tags));
  }
  /// @}

  /// @{
  /// Tags an existing manifest with each of `tags` (oras-go's `oras.TagN`):
  /// fetches it by digest, then pushes it as `async_push_reference_n` does,
  /// in one request where the registry creates tags from `?tag=`. No tags:
  /// nothing is sent.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// As `async_push_reference_n`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_tag_n(descriptor desc, std::vector<std::string> tags, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tag_n_start, nullptr, std::move(desc),
                                            std::move(tags));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_tag_n(descriptor desc, std::vector<std::string> tags, diagnostics& d,
                   Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tag_n_start, &d, std::move(desc),
                                            std::move(tags));
  }
  /// @}

  // ---- blobs by reference (the reference must hold a digest) ----

  /// @{
  /// HEAD on a blob by digest (`reference` must hold a digest): its descriptor.
  ///
  /// @par Handler signature
  /// `void(error_code, descriptor)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_resolve_blob(std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::resolve_blob_start, nullptr,
                                            std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_resolve_blob(std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::resolve_blob_start, &d,
                                            std::move(reference));
  }
  /// @}

  /// @{
  /// GET on a blob by digest (`reference` must hold a digest): its descriptor
  /// and a reader of its content.
  ///
  /// @par Handler signature
  /// `void(error_code, fetched)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_blob_reference(std::string reference, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_blob_reference_start, nullptr,
                                            std::move(reference));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_blob_reference(std::string reference, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_blob_reference_start, &d,
                                            std::move(reference));
  }
  /// @}

  // ---- tags ----

  /// @{
  /// Lists tags after `last` (empty: from the start), one `on_page` call per
  /// page, following `Link` within the registry's origin, at most
  /// `repository_options::max_pages` pages. `on_page` returning false stops the
  /// listing after that page (the operation then succeeds).
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// What `on_page` throws; `errc::invalid_response` past `max_pages`; the errors
  /// listed on the class.
  ///
  /// @par Object lifetimes
  /// `on_page` is moved into the operation and called on the HTTP client's
  /// strand, one call at a time.
  template <class Token = ::coras::default_completion_token_t>
  auto async_tags(std::string last, page_handler on_page, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tags_start, nullptr, std::move(last),
                                            std::move(on_page));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_tags(std::string last, page_handler on_page, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::tags_start, &d, std::move(last),
                                            std::move(on_page));
  }
  /// @}

  /// @{
  /// Every tag, all pages gathered.
  ///
  /// @par Handler signature
  /// `void(error_code, std::vector<std::string>)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_tags(Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::list_tags_start, nullptr);
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_tags(diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::list_tags_start, &d);
  }
  /// @}

  // ---- referrers (OCI 1.1) ----

  /// @{
  /// Lists the manifests whose `subject` is `subject`, one `on_page` call per
  /// non-empty page; only those of `artifact_type` when it is not empty. Uses the
  /// Referrers API (`/v2/NAME/referrers/DIGEST`), or the referrers tag schema
  /// (`sha256-<hex>` tag holding an index) on a registry without it, deciding as
  /// oras-go's `Repository.Referrers` does and remembering the answer (spec
  /// "Listing Referrers", and its "Referrers Tag Schema"). `on_page` returning
  /// false stops the listing.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Object lifetimes
  /// `on_page` is moved into the operation and called on the HTTP client's
  /// strand, one call at a time.
  template <class Token = ::coras::default_completion_token_t>
  auto async_referrers(descriptor subject, std::string artifact_type, referrers_handler on_page,
                       Token&& token = {}) {
    return ::coras::detail::initiate_member(
        std::forward<Token>(token), *this, &repository::referrers_start, nullptr,
        std::move(subject), std::move(artifact_type), std::move(on_page));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_referrers(descriptor subject, std::string artifact_type, referrers_handler on_page,
                       diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::referrers_start, &d, std::move(subject),
                                            std::move(artifact_type), std::move(on_page));
  }
  /// @}

  /// @{
  /// All referrers of `subject` (of `artifact_type` when not empty), every page
  /// gathered (oras-go's `Repository.Predecessors`).
  ///
  /// @par Handler signature
  /// `void(error_code, std::vector<descriptor>)`.
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_referrers(descriptor subject, std::string artifact_type, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::list_referrers_start, nullptr,
                                            std::move(subject), std::move(artifact_type));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_list_referrers(descriptor subject, std::string artifact_type, diagnostics& d,
                            Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::list_referrers_start, &d,
                                            std::move(subject), std::move(artifact_type));
  }
  /// @}

  /// Tells the handle whether the registry has the Referrers API, instead of
  /// letting it find out (oras-go's `Repository.SetReferrersCapability`). Only the first value
  /// counts: setting the other value later returns
  /// `errc::referrers_capability_conflict`. Thread-safe. The state is shared
  /// by copies of this handle, not by other handles to the same repository.
  error_code set_referrers_capability(bool capable) const;
  /// What the handle knows: true/false, or nullopt while unknown.
  std::optional<bool> referrers_capability() const;

  // ---- conveniences: memory and files ----

  /// @{
  /// Fetches `target` whole into memory, verified before it is handed out.
  ///
  /// @par Handler signature
  /// `void(error_code, std::string)`.
  ///
  /// @par Errors
  /// `errc::size_limit_exceeded` when `target.size` is above
  /// `repository_options::max_blob_bytes`, `errc::digest_mismatch`,
  /// `errc::size_mismatch`, and the errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_bytes(descriptor target, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_bytes_start, nullptr,
                                            std::move(target));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_bytes(descriptor target, diagnostics& d, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_bytes_start, &d, std::move(target));
  }
  /// @}

  /// @{
  /// Pushes `content` as a blob, or as a manifest (by digest) when `media_type`
  /// is a manifest type, and gives its descriptor. The `std::span` overload
  /// copies the bytes into a string first; it has no `diagnostics&` form.
  ///
  /// @par Handler signature
  /// `void(error_code, descriptor)`.
  ///
  /// @par Example
  /// @code
  /// coras::descriptor layer =
  ///     co_await repo.async_push_bytes("application/vnd.oci.image.layer.v1.tar", bytes);
  /// @endcode
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_bytes(std::string media_type, std::string content, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_bytes_start, nullptr,
                                            std::move(media_type), std::move(content));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_bytes(std::string media_type, std::string content, diagnostics& d,
                        Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_bytes_start, &d,
                                            std::move(media_type), std::move(content));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_bytes(std::string media_type, std::span<const std::byte> content,
                        Token&& token = {}) {
    return async_push_bytes(std::move(media_type), to_string(content), std::forward<Token>(token));
  }
  /// @}

  /// @{
  /// Streams `target` into the file `path`: staged in the hidden directory
  /// `.coras-staging` beside `path`, under names derived from the digest
  /// (`content::staging_for`), and renamed over `path` only after the digest
  /// verified, so `path` never holds unverified bytes and no other file's name
  /// (`path` + ".partial", say) is ever written. A staged file left by an
  /// interrupted call is continued only when coras's record beside it names
  /// this blob and size (its bytes are hashed again, not trusted); one without
  /// that record is started over. Big blobs come as parallel ranges
  /// (`repository_options::transfer`). A failure keeps the staged file for the
  /// next call, except a digest mismatch, which removes it. A symbolic link at
  /// the staging directory or the staged name is refused (`invalid_argument`,
  /// or `ELOOP`). The staging directory is removed once empty.
  ///
  /// @par Handler signature
  /// `void(error_code)`.
  ///
  /// @par Errors
  /// `errc::digest_mismatch`, `errc::size_mismatch`, file system errors, and the
  /// errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_to_file(descriptor target, std::filesystem::path path, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_to_file_start, nullptr,
                                            std::move(target), std::move(path));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_fetch_to_file(descriptor target, std::filesystem::path path, diagnostics& d,
                           Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::fetch_to_file_start, &d, std::move(target),
                                            std::move(path));
  }
  /// @}

  /// @{
  /// Hashes the file at `path`, then pushes it (streamed) as a blob, or as a
  /// manifest when `media_type` is one, and gives its descriptor.
  ///
  /// @par Handler signature
  /// `void(error_code, descriptor)`.
  ///
  /// @par Errors
  /// File system errors, and the errors listed on the class.
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_file(std::string media_type, std::filesystem::path path, Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_file_start, nullptr,
                                            std::move(media_type), std::move(path));
  }
  template <class Token = ::coras::default_completion_token_t>
  auto async_push_file(std::string media_type, std::filesystem::path path, diagnostics& d,
                       Token&& token = {}) {
    return ::coras::detail::initiate_member(std::forward<Token>(token), *this,
                                            &repository::push_file_start, &d, std::move(media_type),
                                            std::move(path));
  }
  /// @}

  /// @cond INTERNAL
  /// Internal: the shared state (used by coras's own layers).
  const std::shared_ptr<repository_state>& state() const noexcept { return state_; }
  /// Internal: a handle on existing shared state.
  explicit repository(std::shared_ptr<repository_state> state) noexcept;
  /// @endcond

 private:
  template <class Sig>
  using handler = boost::asio::any_completion_handler<Sig>;

  // Initiates `start` on a copy of this handle, so a deferred operation does
  // not depend on the handle it was made from.

  static std::string to_string(std::span<const std::byte> bytes);

  using fields_sig = void(error_code, http::fields);
  void fetch_start(diagnostics*, handler<void(error_code, blob_reader)>, descriptor,
                   fetch_options) const;
  void fetch_head_start(diagnostics*, handler<fields_sig>, descriptor) const;
  void push_start(diagnostics*, handler<void(error_code)>, descriptor,
                  std::shared_ptr<byte_source>) const;
  void exists_start(diagnostics*, handler<void(error_code, bool)>, descriptor) const;
  void delete_start(diagnostics*, handler<void(error_code)>, descriptor) const;
  void mount_start(diagnostics*, handler<void(error_code)>, descriptor, std::string,
                   content_factory) const;
  void resolve_start(diagnostics*, handler<void(error_code, descriptor)>, std::string) const;
  void fetch_reference_start(diagnostics*, handler<void(error_code, fetched)>, std::string) const;
  void push_reference_start(diagnostics*, handler<void(error_code)>, descriptor,
                            std::shared_ptr<byte_source>, std::string) const;
  void tag_start(diagnostics*, handler<void(error_code)>, descriptor, std::string) const;
  void push_reference_n_start(diagnostics*, handler<void(error_code)>, descriptor,
                              std::shared_ptr<byte_source>, std::vector<std::string>) const;
  void tag_n_start(diagnostics*, handler<void(error_code)>, descriptor,
                   std::vector<std::string>) const;
  void resolve_blob_start(diagnostics*, handler<void(error_code, descriptor)>, std::string) const;
  void fetch_blob_reference_start(diagnostics*, handler<void(error_code, fetched)>,
                                  std::string) const;
  void tags_start(diagnostics*, handler<void(error_code)>, std::string, page_handler) const;
  void list_tags_start(diagnostics*, handler<void(error_code, std::vector<std::string>)>) const;
  void referrers_start(diagnostics*, handler<void(error_code)>, descriptor, std::string,
                       referrers_handler) const;
  void list_referrers_start(diagnostics*, handler<void(error_code, std::vector<descriptor>)>,
                            descriptor, std::string) const;
  void fetch_bytes_start(diagnostics*, handler<void(error_code, std::string)>, descriptor) const;
  void push_bytes_start(diagnostics*, handler<void(error_code, descriptor)>, std::string,
                        std::string) const;
  void fetch_to_file_start(diagnostics*, handler<void(error_code)>, descriptor,
                           std::filesystem::path) const;
  void push_file_start(diagnostics*, handler<void(error_code, descriptor)>, std::string,
                       std::filesystem::path) const;

  std::shared_ptr<repository_state> state_;
};

}  // namespace coras::remote

// The repository handle (oras-go's Repository): options helpers, routing by
// media type to the blob or manifest operations (blobs.cpp, manifests.cpp),
// tag listing, the memory and file conveniences, and the *_start shims that
// start each coroutine through the client's operations gate
// (operation_start.hpp).
#include <coras/remote/repository.hpp>

#include "auth/challenge.hpp"
#include "blob_reader_impl.hpp"
#include "detail/offload.hpp"
#include "detail/posix_file.hpp"
#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "operation_start.hpp"
#include "protocol.hpp"
#include "stores.hpp"

#include <coras/core/media_type.hpp>

#include <boost/asio/error.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace coras::remote {

namespace asio = boost::asio;
using asio::awaitable;
using detail::accept_header;
using detail::blob_url;
using detail::content_type_of;
using detail::delete_content;
using detail::fetch_blob;
using detail::fetch_blob_head;
using detail::fetch_blob_reference;
using detail::fetch_manifest;
using detail::fetch_manifest_reference;
using detail::make_request;
using detail::manifest_url;
using detail::mount_blob;
using detail::names_manifest;
using detail::parse_ref;
using detail::protocol_error;
using detail::pull_scope;
using detail::push_blob;
using detail::push_manifest_reference;
using detail::put_manifest;
using detail::raise_error;
using detail::resolve_blob;
using detail::resolve_manifest;
using detail::send;
using detail::state_ptr;
using detail::stream_reader;
using detail::tag_manifest;
using detail::upload_body;
using detail::verify_content_digest;

std::span<const std::string> default_manifest_media_types() {
  static const std::array<std::string, 5> types{
      std::string(media_type::docker_manifest), std::string(media_type::docker_manifest_list),
      std::string(media_type::oci_manifest), std::string(media_type::oci_index),
      std::string(media_type::oci_artifact_manifest)};
  return types;
}

std::span<const std::string> detail::manifest_types(const repository_options& o) {
  if (o.manifest_media_types.empty()) return default_manifest_media_types();
  return o.manifest_media_types;
}

std::string detail::accept_header(const repository_options& o) {
  std::string out;
  for (const auto& t : manifest_types(o)) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

bool detail::names_manifest(const repository_options& o, const descriptor& d) {
  auto types = manifest_types(o);
  return std::find(types.begin(), types.end(), d.media_type) != types.end();
}

std::string detail::manifest_url(const repository_state& s, std::string_view ref) {
  constexpr std::string_view manifests = "manifests/";
  std::string url;  // one allocation (every manifest request makes one)
  url.reserve(s.base.size() + manifests.size() + ref.size());
  url.append(s.base).append(manifests).append(ref);
  return url;
}

std::string detail::pull_scope(const repository_state& s) {
  return auth::detail::repository_scope(s.ref.repository(), "pull");
}

// The reference a by-reference operation names, or invalid_reference.
reference detail::parse_ref(const repository_state& s, std::string_view text) {
  return s.ref.resolve(text);
}

std::string detail::content_type_of(const http::response& resp) {
  return std::string(resp.headers().get("Content-Type").value_or(""));
}

namespace {

// ---- routing by media type (the seed's Repository.blobStore) ----

awaitable<blob_reader> fetch_any(state_ptr s, descriptor target, fetch_options opts) {
  if (names_manifest(s->options, target)) {
    if (opts.offset > 0)
      throw coras::error(errc::invalid_argument, "manifests are fetched whole, not from an offset");
    co_return co_await fetch_manifest(s, std::move(target));
  }
  co_return co_await fetch_blob(s, std::move(target), std::move(opts));
}

awaitable<void> push_any(state_ptr s, descriptor expected, std::shared_ptr<byte_source> content) {
  if (names_manifest(s->options, expected)) {
    auto ref = expected.digest.str();
    co_await detail::push_manifest(s, std::move(expected), std::move(content), std::move(ref));
  } else {
    co_await push_blob(s, std::move(expected), std::move(content));
  }
}

awaitable<bool> exists_any(state_ptr s, descriptor target) {
  // The outcome leaves the handler before anything else happens: GCC 12
  // double-frees an exception that a coroutine's catch block co_returns from.
  error_code failure;
  try {
    if (names_manifest(s->options, target)) {
      co_await resolve_manifest(s, target.digest.str());
    } else {
      co_await resolve_blob(s, target.digest.str());
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != errc::not_found) throw;
    failure = e.code();
  }
  co_return !failure;
}

awaitable<http::fields> fetch_head_any(state_ptr s, descriptor target) {
  if (names_manifest(s->options, target))
    throw coras::error(errc::unsupported,
                       "fetch_head: " + target.digest.str() + " names a manifest, not a blob");
  co_return co_await fetch_blob_head(s, std::move(target));
}

// ---- tags ----

awaitable<void> list_tags_pages(state_ptr s, std::string last, page_handler on_page) {
  co_await detail::list_pages(s->client, s->options, s->base + "tags/list",
                              detail::page_query(s->options.tag_list_page_size, last), "tags",
                              pull_scope(*s), on_page);
}

// A coroutine (not a plain return) so that `s` outlives the listing.
awaitable<std::vector<std::string>> gather_tags(state_ptr s) {
  co_return co_await detail::gather_pages(s->client, s->options, s->base + "tags/list",
                                          detail::page_query(s->options.tag_list_page_size, {}),
                                          "tags", pull_scope(*s));
}

// ---- memory and files ----

awaitable<std::string> fetch_bytes(state_ptr s, descriptor target) {
  fetch_options whole;
  auto reader = co_await fetch_any(s, target, whole);
  co_return co_await reader.impl()->read_all(static_cast<std::uint64_t>(target.size));
}

awaitable<descriptor> push_bytes(state_ptr s, std::string media_type, std::string content) {
  auto desc = descriptor::for_content(media_type, content);
  co_await push_any(s, desc, coras::memory_source(std::move(content)));
  co_return desc;
}

[[noreturn]] void file_error(std::string_view what, const std::filesystem::path& p) {
  const int e = errno;
  throw coras::error(error_code(e, boost::system::system_category()),
                     std::string(what) + " " + p.string() + ": " + std::strerror(e));
}

awaitable<void> fetch_to_file(state_ptr s, descriptor target, std::filesystem::path path) {
  if (!names_manifest(s->options, target)) {
    co_await detail::download_blob(s, std::move(target), std::move(path));
    co_return;
  }
  fetch_options whole;
  auto reader = co_await fetch_any(s, target, whole);
  // A private name beside the target (never a name another file could
  // have), renamed only once the reader verified the last byte.
  coras::detail::temp_file out(path.parent_path(), path.filename().string());
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    std::size_t n = 0;
    try {
      n = co_await reader.impl()->read_some(asio::buffer(buffer));
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::eof) break;
      throw;
    }
    out.write(std::string_view(buffer.data(), n));
  }
  out.commit(path, /*durable=*/false);
}

awaitable<descriptor> push_file(state_ptr s, std::string media_type, std::filesystem::path path) {
  // Hashed first (the digest goes into the upload URL), on the work executor
  // when there is one, then streamed.
  coras::detail::unique_fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) file_error("cannot open", path);
  digester hasher;
  co_await coras::detail::offload(s->client.options().work_executor, [&] {
    std::vector<std::byte> buffer(1024 * 1024);
    for (;;) {
      auto n = ::read(in.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) file_error("cannot read", path);
      if (n == 0) break;
      hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    }
  });
  descriptor desc;
  desc.media_type = std::move(media_type);
  desc.size = static_cast<std::int64_t>(hasher.size());
  desc.digest = hasher.finish();
  co_await push_any(s, desc, coras::file_source(path));
  co_return desc;
}

}  // namespace

// ---- the public handle ----

repository::repository(std::shared_ptr<repository_state> state) noexcept
    : state_(std::move(state)) {}

repository::repository(http::client client, const reference& ref, repository_options options) {
  auto name = detail::hub_repository(ref.registry(), ref.repository());
  auto base = detail::v2_base(ref.registry(), options.plain_http) + name + "/";
  state_ = std::make_shared<repository_state>(repository_state{
      std::move(client), reference::from_parts(ref.registry(), name), std::move(options),
      std::move(base), std::make_shared<referrers_state>(), std::nullopt, {}, {}});
  state_->origin = state_->base.substr(0, state_->base.find("/v2/"));
  state_->accept = accept_header(state_->options);
}

repository::repository(http::client client, std::string_view name, repository_options options)
    : repository(std::move(client), reference::parse(name), std::move(options)) {}

const reference& repository::ref() const noexcept { return state_->ref; }
const repository_options& repository::options() const noexcept { return state_->options; }
const http::client& repository::client() const noexcept { return state_->client; }

reference repository::parse_reference(std::string_view s) const { return state_->ref.resolve(s); }

bool repository::is_manifest(const descriptor& desc) const {
  return names_manifest(state_->options, desc);
}

std::string repository::to_string(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

namespace {
// Every operation passes the client's operations gate (operation_start.hpp).
template <class H, class F, class... Args>
void start(const state_ptr& s, diagnostics* d, H&& h, F f, Args&&... args) {
  detail::start_operation(s, d, std::forward<H>(h), f, std::forward<Args>(args)...);
}
}  // namespace

void repository::fetch_start(diagnostics* d, handler<void(error_code, blob_reader)> h, descriptor t,
                             fetch_options o) const {
  start(state_, d, std::move(h), &fetch_any, std::move(t), std::move(o));
}
void repository::fetch_head_start(diagnostics* d, handler<fields_sig> h, descriptor t) const {
  start(state_, d, std::move(h), &fetch_head_any, std::move(t));
}
void repository::push_start(diagnostics* d, handler<void(error_code)> h, descriptor e,
                            std::shared_ptr<byte_source> c) const {
  start(state_, d, std::move(h), &push_any, std::move(e), std::move(c));
}
void repository::exists_start(diagnostics* d, handler<void(error_code, bool)> h,
                              descriptor t) const {
  start(state_, d, std::move(h), &exists_any, std::move(t));
}
void repository::delete_start(diagnostics* d, handler<void(error_code)> h, descriptor t) const {
  if (names_manifest(state_->options, t))
    start(state_, d, std::move(h), &detail::delete_manifest, std::move(t));
  else
    start(state_, d, std::move(h), &delete_content, std::move(t), false);
}
void repository::referrers_start(diagnostics* d, handler<void(error_code)> h, descriptor subject,
                                 std::string artifact_type, referrers_handler on_page) const {
  start(state_, d, std::move(h), &detail::referrers, std::move(subject), std::move(artifact_type),
        std::move(on_page));
}
void repository::list_referrers_start(diagnostics* d,
                                      handler<void(error_code, std::vector<descriptor>)> h,
                                      descriptor subject, std::string artifact_type) const {
  start(state_, d, std::move(h), &detail::list_referrers, std::move(subject),
        std::move(artifact_type));
}

error_code repository::set_referrers_capability(bool capable) const {
  if (detail::set_capability(*state_->referrers, capable)) return {};
  return make_error_code(errc::referrers_capability_conflict);
}

std::optional<bool> repository::referrers_capability() const {
  switch (state_->referrers->capability.load()) {
    case referrers_state::supported: return true;
    case referrers_state::unsupported: return false;
    default: return std::nullopt;
  }
}
void repository::mount_start(diagnostics* d, handler<void(error_code)> h, descriptor desc,
                             std::string from, content_factory get) const {
  start(state_, d, std::move(h), &mount_blob, std::move(desc), std::move(from), std::move(get));
}
void repository::resolve_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                               std::string r) const {
  start(state_, d, std::move(h), &resolve_manifest, std::move(r));
}
void repository::fetch_reference_start(diagnostics* d, handler<void(error_code, fetched)> h,
                                       std::string r) const {
  start(state_, d, std::move(h), &fetch_manifest_reference, std::move(r));
}
void repository::push_reference_start(diagnostics* d, handler<void(error_code)> h, descriptor e,
                                      std::shared_ptr<byte_source> c, std::string r) const {
  start(state_, d, std::move(h), &push_manifest_reference, std::move(e), std::move(c),
        std::move(r));
}
void repository::tag_start(diagnostics* d, handler<void(error_code)> h, descriptor desc,
                           std::string r) const {
  start(state_, d, std::move(h), &tag_manifest, std::move(desc), std::move(r));
}
void repository::push_reference_n_start(diagnostics* d, handler<void(error_code)> h, descriptor e,
                                        std::shared_ptr<byte_source> c,
                                        std::vector<std::string> tags) const {
  start(state_, d, std::move(h), &detail::push_manifest_tags, std::move(e), std::move(c),
        std::move(tags));
}
void repository::tag_n_start(diagnostics* d, handler<void(error_code)> h, descriptor desc,
                             std::vector<std::string> tags) const {
  start(state_, d, std::move(h), &detail::tag_manifest_n, std::move(desc), std::move(tags));
}
void repository::resolve_blob_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                    std::string r) const {
  start(state_, d, std::move(h), &resolve_blob, std::move(r));
}
void repository::fetch_blob_reference_start(diagnostics* d, handler<void(error_code, fetched)> h,
                                            std::string r) const {
  start(state_, d, std::move(h), &fetch_blob_reference, std::move(r));
}
void repository::tags_start(diagnostics* d, handler<void(error_code)> h, std::string last,
                            page_handler on_page) const {
  start(state_, d, std::move(h), &list_tags_pages, std::move(last), std::move(on_page));
}
void repository::list_tags_start(diagnostics* d,
                                 handler<void(error_code, std::vector<std::string>)> h) const {
  start(state_, d, std::move(h), &gather_tags);
}
void repository::fetch_bytes_start(diagnostics* d, handler<void(error_code, std::string)> h,
                                   descriptor t) const {
  start(state_, d, std::move(h), &fetch_bytes, std::move(t));
}
void repository::push_bytes_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                  std::string media_type, std::string content) const {
  start(state_, d, std::move(h), &push_bytes, std::move(media_type), std::move(content));
}
void repository::fetch_to_file_start(diagnostics* d, handler<void(error_code)> h, descriptor t,
                                     std::filesystem::path p) const {
  start(state_, d, std::move(h), &fetch_to_file, std::move(t), std::move(p));
}
void repository::push_file_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                 std::string media_type, std::filesystem::path p) const {
  start(state_, d, std::move(h), &push_file, std::move(media_type), std::move(p));
}

}  // namespace coras::remote

// The seed's Repository, blobStore and manifestStore: each operation is a
// coroutine on the HTTP client's strand, started by a *_start function that
// hands it to detail::spawn.
#include <coras/remote/repository.hpp>

#include "auth/challenge.hpp"
#include "blob_reader_impl.hpp"
#include "detail/offload.hpp"
#include "detail/posix_file.hpp"
#include "detail/spawn.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
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
using detail::blob_url;
using detail::delete_content;
using detail::fetch_blob;
using detail::fetch_manifest;
using detail::fetch_manifest_reference;
using detail::make_request;
using detail::protocol_error;
using detail::push_blob;
using detail::put_manifest;
using detail::raise_error;
using detail::send;
using detail::state_ptr;
using detail::upload_body;
using detail::verify_content_digest;

std::span<const std::string> default_manifest_media_types() {
  static const std::array<std::string, 5> types{
      std::string(media_type::docker_manifest), std::string(media_type::docker_manifest_list),
      std::string(media_type::oci_manifest), std::string(media_type::oci_index),
      std::string(media_type::oci_artifact_manifest)};
  return types;
}

namespace {

std::span<const std::string> manifest_types(const repository_options& o) {
  if (o.manifest_media_types.empty()) return default_manifest_media_types();
  return o.manifest_media_types;
}

std::string accept_header(const repository_options& o) {
  std::string out;
  for (const auto& t : manifest_types(o)) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

bool names_manifest(const repository_options& o, const descriptor& d) {
  auto types = manifest_types(o);
  return std::find(types.begin(), types.end(), d.media_type) != types.end();
}

std::string manifest_url(const repository_state& s, std::string_view ref) {
  return s.base + "manifests/" + std::string(ref);
}

std::string pull_scope(const repository_state& s) {
  return auth::detail::repository_scope(s.ref.repository(), "pull");
}

// The reference a by-reference operation names, or invalid_reference.
reference parse_ref(const repository_state& s, std::string_view text) {
  return s.ref.resolve(text);
}

std::string content_type_of(const http::response& resp) {
  return std::string(resp.headers().get("Content-Type").value_or(""));
}

// ---- blobs ----

// A reader of `resp`'s body (the content of `target`, from its first byte).
// With `s`, a broken body is resumed from the blob endpoint.
blob_reader stream_reader(state_ptr s, http::client client, descriptor target, std::string url,
                          http::response resp) {
  blob_reader_setup setup(std::move(client));
  setup.repo = std::move(s);
  setup.hasher.emplace(target.digest.algorithm());
  setup.target = std::move(target);
  setup.url = std::move(url);
  return blob_reader(std::make_unique<blob_reader_impl>(std::move(setup), std::move(resp)));
}

}  // namespace

awaitable<blob_reader> detail::fetch_blob(state_ptr s, descriptor target, fetch_options opts) {
  if (opts.offset > 0 && !opts.prefix)
    throw coras::error(errc::invalid_argument,
                       "a fetch from offset " + std::to_string(opts.offset) +
                           " needs the hash of the bytes before it (fetch_options::prefix)");
  blob_reader_setup setup(s->client);
  setup.url = blob_url(*s, target.digest);
  setup.repo = s;
  setup.offset = opts.offset;
  if (opts.prefix)
    setup.hasher = opts.prefix->state_copy();
  else
    setup.hasher.emplace(target.digest.algorithm());
  setup.target = std::move(target);
  auto impl = co_await blob_reader_impl::open(std::move(setup));
  co_return blob_reader(std::move(impl));
}

namespace {

awaitable<http::fields> fetch_blob_head(state_ptr s, descriptor target) {
  auto url = blob_url(*s, target.digest);
  auto resp = co_await send(s->client, s->options, make_request(*s, "HEAD", url));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  if (auto n = resp.content_length(); n && *n != static_cast<std::uint64_t>(target.size))
    protocol_error("HEAD", url, "mismatch Content-Length", errc::size_mismatch);
  co_return resp.headers();
}

// The seed's generateBlobDescriptor.
descriptor blob_descriptor(const http::response& resp, std::string_view method,
                           std::string_view url, const digest& d) {
  descriptor out;
  out.media_type = http::grammar::media_type_of(content_type_of(resp));
  if (out.media_type.empty()) out.media_type = "application/octet-stream";
  auto n = resp.content_length();
  if (!n) protocol_error(method, url, "unknown response Content-Length");
  out.size = static_cast<std::int64_t>(*n);
  verify_content_digest(resp, method, url, d);
  out.digest = d;
  return out;
}

digest digest_of(const reference& ref, std::string_view text) {
  if (!ref.has_digest())
    throw coras::error(errc::invalid_reference,
                       "invalid reference \"" + std::string(text) + "\": not a digest");
  return ref.digest();
}

awaitable<descriptor> resolve_blob(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto d = digest_of(ref, text);
  auto url = blob_url(*s, d);
  auto resp = co_await send(s->client, s->options, make_request(*s, "HEAD", url));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  co_return blob_descriptor(resp, "HEAD", url, d);
}

awaitable<fetched> fetch_blob_reference(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto d = digest_of(ref, text);
  auto url = blob_url(*s, d);
  auto resp = co_await send(s->client, s->options, make_request(*s, "GET", url));
  if (resp.status() != 200) co_await raise_error(resp, "GET", url);
  // (No co_await inside ?: — GCC 12 miscompiles it.)
  descriptor desc;
  if (resp.content_length())
    desc = blob_descriptor(resp, "GET", url, d);
  else
    desc = co_await resolve_blob(s, text);
  fetched out;
  out.desc = desc;
  out.body = stream_reader(s, s->client, desc, std::move(url), std::move(resp));
  co_return out;
}

awaitable<void> mount_blob(state_ptr s, descriptor desc, std::string from,
                           content_factory get_content) {
  if (auto problem = check_repository(from); !problem.empty())
    throw coras::error(errc::invalid_reference,
                       "invalid source repository \"" + from + "\": " + problem);
  auto url = s->base + "blobs/uploads/?mount=" + detail::query_escape(desc.digest.str()) +
             "&from=" + detail::query_escape(from);
  auto mount = make_request(*s, "POST", url);
  mount.scopes.push_back(auth::detail::repository_scope(from, "pull"));  // the source, too
  auto resp = co_await send(s->client, s->options, std::move(mount));
  if (resp.status() == 201) {
    verify_content_digest(resp, "POST", url, desc.digest);
    co_await resp.impl()->discard();
    co_return;
  }
  if (resp.status() != 202) co_await raise_error(resp, "POST", url);
  // 202: the registry did not mount and opened an upload session instead
  // (the spec allows it); upload the content ourselves.
  std::shared_ptr<byte_source> content;
  try {
    if (get_content) {
      content = get_content();
    } else {
      auto sibling = std::make_shared<repository_state>(*s);
      sibling->ref = reference::from_parts(s->ref.registry(), from);
      sibling->base = detail::v2_base(s->ref.registry(), s->options.plain_http) + from + "/";
      sibling->referrers = std::make_shared<referrers_state>();  // another repository
      fetch_options whole;
      content = to_byte_source(co_await fetch_blob(sibling, desc, whole));
    }
  } catch (const boost::system::system_error& e) {
    throw coras::error(e.code(), std::string("cannot read source blob: ") + e.what());
  }
  co_await detail::upload_to_session(s, url, resp, desc, std::move(content));
}

// The seed's Repository.delete, for both endpoints.
}  // namespace

awaitable<void> detail::delete_content(state_ptr s, descriptor target, bool manifest) {
  auto url = manifest ? manifest_url(*s, target.digest.str()) : blob_url(*s, target.digest);
  auto resp = co_await send(s->client, s->options, make_request(*s, "DELETE", url));
  if (resp.status() != 202) co_await raise_error(resp, "DELETE", url);
  verify_content_digest(resp, "DELETE", url, target.digest);
  co_await resp.impl()->discard();
}

namespace {

// ---- manifests ----

detail::manifest_response summary(const http::response& resp, std::string method) {
  detail::manifest_response r;
  r.method = std::move(method);
  r.content_type = content_type_of(resp);
  r.content_length = resp.content_length();
  r.docker_content_digest = std::string(resp.headers().get("Docker-Content-Digest").value_or(""));
  return r;
}

descriptor describe(const detail::manifest_response& r, std::string_view url, const reference& ref,
                    const digest* body_digest) {
  std::string why;
  auto d =
      detail::manifest_descriptor(r, ref.has_digest() ? &ref.digest() : nullptr, body_digest, &why);
  if (!d) protocol_error(r.method, url, why, static_cast<errc>(d.error().value()));
  return std::move(*d);
}

}  // namespace

awaitable<blob_reader> detail::fetch_manifest(state_ptr s, descriptor target) {
  auto url = manifest_url(*s, target.digest.str());
  auto req = make_request(*s, "GET", url);
  req.headers.set("Accept", target.media_type);
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 200) co_await raise_error(resp, "GET", url);
  auto type = http::grammar::media_type_of(content_type_of(resp));
  if (type.empty())
    protocol_error("GET", url, "invalid response Content-Type \"" + content_type_of(resp) + "\"");
  if (type != target.media_type)
    protocol_error(
        "GET", url,
        "mismatch response Content-Type \"" + type + "\": expect \"" + target.media_type + "\"");
  if (auto n = resp.content_length(); n && *n != static_cast<std::uint64_t>(target.size))
    protocol_error("GET", url, "mismatch Content-Length", errc::size_mismatch);
  verify_content_digest(resp, "GET", url, target.digest);
  co_return stream_reader(nullptr, s->client, std::move(target), std::move(url), std::move(resp));
}

namespace {

awaitable<descriptor> resolve_manifest(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto url = manifest_url(*s, ref.tag_or_digest());
  auto req = make_request(*s, "HEAD", url);
  req.headers.set("Accept", accept_header(s->options));
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  co_return describe(summary(resp, "HEAD"), url, ref, nullptr);
}

}  // namespace

awaitable<fetched> detail::fetch_manifest_reference(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto url = manifest_url(*s, ref.tag_or_digest());
  auto req = make_request(*s, "GET", url);
  req.headers.set("Accept", accept_header(s->options));
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 200) co_await raise_error(resp, "GET", url);
  fetched out;
  if (!resp.content_length()) {
    // No length to describe it by: ask HEAD, as the seed does, then verify
    // the streamed body against that answer.
    out.desc = co_await resolve_manifest(s, text);
  } else {
    auto r = summary(resp, "GET");
    if (detail::needs_body_digest(r)) {
      // No digest header: hash a bounded read of the body and serve it from memory.
      auto body = co_await resp.impl()->read_all(s->options.max_metadata_bytes);
      auto d =
          digest::of(body, ref.has_digest() ? ref.digest().algorithm() : digest_algorithm::sha256);
      out.desc = describe(r, url, ref, &d);
      out.body = blob_reader(std::make_unique<blob_reader_impl>(
          s->client, std::move(body), resp.headers(), out.desc, std::move(url)));
      co_return out;
    }
    out.desc = describe(r, url, ref, nullptr);
  }
  out.body = stream_reader(nullptr, s->client, out.desc, std::move(url), std::move(resp));
  co_return out;
}

awaitable<bool> detail::put_manifest(state_ptr s, descriptor expected,
                                     std::shared_ptr<byte_source> content, std::string ref) {
  auto url = manifest_url(*s, ref);
  auto req = make_request(*s, "PUT", url);
  req.headers.set("Content-Type", expected.media_type);
  if (content && !content->rewind()) {
    // A manifest is small: hold it, so that a 401 can be answered and the
    // PUT sent again (the seed buffers it for its auth client the same way).
    if (static_cast<std::uint64_t>(expected.size) > s->options.max_metadata_bytes)
      throw coras::error(errc::size_limit_exceeded, "manifest of " + std::to_string(expected.size) +
                                                        " bytes exceeds max_metadata_bytes");
    content = coras::memory_source(co_await read_body(std::move(content), expected));
  }
  req.body = upload_body(std::move(content), expected);
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 201) co_await raise_error(resp, "PUT", url);
  // OCI-Subject: the registry processed the manifest's subject itself, so it
  // has the Referrers API (the seed's checkOCISubjectHeader).
  const bool subject_processed = !resp.headers().get("OCI-Subject").value_or("").empty();
  if (subject_processed) detail::set_capability(*s->referrers, true);
  verify_content_digest(resp, "PUT", url, expected.digest);
  co_await resp.impl()->discard();
  co_return subject_processed;
}

awaitable<std::string> detail::read_body(std::shared_ptr<byte_source> content,
                                         const descriptor& expected) {
  content = upload_body(std::move(content), expected);  // size checks as for an upload
  std::string out(static_cast<std::size_t>(expected.size), '\0');
  std::size_t filled = 0;
  while (filled < out.size()) {
    auto n = co_await content->read(asio::buffer(out.data() + filled, out.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  char extra;
  if (filled != out.size() || co_await content->read(asio::buffer(&extra, 1)) != 0)
    throw coras::error(errc::size_mismatch,
                       "content is not the expected " + std::to_string(expected.size) + " bytes");
  if (digest::of(out, expected.digest.algorithm()) != expected.digest)
    throw coras::error(errc::digest_mismatch,
                       "content does not match the expected digest " + expected.digest.str());
  co_return out;
}

namespace {

awaitable<void> push_manifest_reference(state_ptr s, descriptor expected,
                                        std::shared_ptr<byte_source> content, std::string text) {
  auto ref = parse_ref(*s, text);
  co_await detail::push_manifest(s, std::move(expected), std::move(content), ref.tag_or_digest());
}

awaitable<void> tag_manifest(state_ptr s, descriptor desc, std::string text) {
  auto ref = parse_ref(*s, text);
  auto reader = co_await fetch_manifest(s, desc);
  auto bytes = co_await reader.impl()->read_all(s->options.max_metadata_bytes);
  co_await put_manifest(s, std::move(desc), coras::memory_source(std::move(bytes)),
                        ref.tag_or_digest());
}

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
  state_ = std::make_shared<repository_state>(
      repository_state{std::move(client), reference::from_parts(ref.registry(), name),
                       std::move(options), std::move(base), std::make_shared<referrers_state>()});
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
template <class T, class H>
void start(const state_ptr& s, diagnostics* d, awaitable<T> op, H&& h) {
  coras::detail::spawn(s->client.impl()->strand(), std::move(op), std::forward<H>(h), d);
}
}  // namespace

void repository::fetch_start(diagnostics* d, handler<void(error_code, blob_reader)> h, descriptor t,
                             fetch_options o) const {
  start(state_, d, fetch_any(state_, std::move(t), std::move(o)), std::move(h));
}
void repository::fetch_head_start(diagnostics* d, handler<fields_sig> h, descriptor t) const {
  start(state_, d, fetch_head_any(state_, std::move(t)), std::move(h));
}
void repository::push_start(diagnostics* d, handler<void(error_code)> h, descriptor e,
                            std::shared_ptr<byte_source> c) const {
  start(state_, d, push_any(state_, std::move(e), std::move(c)), std::move(h));
}
void repository::exists_start(diagnostics* d, handler<void(error_code, bool)> h,
                              descriptor t) const {
  start(state_, d, exists_any(state_, std::move(t)), std::move(h));
}
void repository::delete_start(diagnostics* d, handler<void(error_code)> h, descriptor t) const {
  if (names_manifest(state_->options, t))
    start(state_, d, detail::delete_manifest(state_, std::move(t)), std::move(h));
  else
    start(state_, d, delete_content(state_, std::move(t), false), std::move(h));
}
void repository::referrers_start(diagnostics* d, handler<void(error_code)> h, descriptor subject,
                                 std::string artifact_type, referrers_handler on_page) const {
  start(state_, d,
        detail::referrers(state_, std::move(subject), std::move(artifact_type), std::move(on_page)),
        std::move(h));
}
void repository::list_referrers_start(diagnostics* d,
                                      handler<void(error_code, std::vector<descriptor>)> h,
                                      descriptor subject, std::string artifact_type) const {
  start(state_, d, detail::list_referrers(state_, std::move(subject), std::move(artifact_type)),
        std::move(h));
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
  start(state_, d, mount_blob(state_, std::move(desc), std::move(from), std::move(get)),
        std::move(h));
}
void repository::resolve_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                               std::string r) const {
  start(state_, d, resolve_manifest(state_, std::move(r)), std::move(h));
}
void repository::fetch_reference_start(diagnostics* d, handler<void(error_code, fetched)> h,
                                       std::string r) const {
  start(state_, d, fetch_manifest_reference(state_, std::move(r)), std::move(h));
}
void repository::push_reference_start(diagnostics* d, handler<void(error_code)> h, descriptor e,
                                      std::shared_ptr<byte_source> c, std::string r) const {
  start(state_, d, push_manifest_reference(state_, std::move(e), std::move(c), std::move(r)),
        std::move(h));
}
void repository::tag_start(diagnostics* d, handler<void(error_code)> h, descriptor desc,
                           std::string r) const {
  start(state_, d, tag_manifest(state_, std::move(desc), std::move(r)), std::move(h));
}
void repository::resolve_blob_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                    std::string r) const {
  start(state_, d, resolve_blob(state_, std::move(r)), std::move(h));
}
void repository::fetch_blob_reference_start(diagnostics* d, handler<void(error_code, fetched)> h,
                                            std::string r) const {
  start(state_, d, fetch_blob_reference(state_, std::move(r)), std::move(h));
}
void repository::tags_start(diagnostics* d, handler<void(error_code)> h, std::string last,
                            page_handler on_page) const {
  start(state_, d, list_tags_pages(state_, std::move(last), std::move(on_page)), std::move(h));
}
void repository::list_tags_start(diagnostics* d,
                                 handler<void(error_code, std::vector<std::string>)> h) const {
  start(state_, d, gather_tags(state_), std::move(h));
}
void repository::fetch_bytes_start(diagnostics* d, handler<void(error_code, std::string)> h,
                                   descriptor t) const {
  start(state_, d, fetch_bytes(state_, std::move(t)), std::move(h));
}
void repository::push_bytes_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                  std::string media_type, std::string content) const {
  start(state_, d, push_bytes(state_, std::move(media_type), std::move(content)), std::move(h));
}
void repository::fetch_to_file_start(diagnostics* d, handler<void(error_code)> h, descriptor t,
                                     std::filesystem::path p) const {
  start(state_, d, fetch_to_file(state_, std::move(t), std::move(p)), std::move(h));
}
void repository::push_file_start(diagnostics* d, handler<void(error_code, descriptor)> h,
                                 std::string media_type, std::filesystem::path p) const {
  start(state_, d, push_file(state_, std::move(media_type), std::move(p)), std::move(h));
}

}  // namespace coras::remote

// The repository's manifest operations (oras-go's manifestStore): fetch by
// descriptor, resolve and fetch by tag or digest, put, tag, and reading a
// pushed body to check it. Each runs on the HTTP client's strand.
#include "blob_reader_impl.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "protocol.hpp"
#include "stores.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/remote/repository.hpp>

#include <algorithm>
#include <optional>

namespace coras::remote {

namespace asio = boost::asio;
using asio::awaitable;
using namespace detail;

// Views of `resp`'s fields: `resp` must outlive the summary.
static detail::manifest_response summary(const http::response& resp, std::string_view method) {
  detail::manifest_response r;
  r.method = method;
  r.content_type = resp.headers().get("Content-Type").value_or("");
  r.content_length = resp.content_length();
  r.docker_content_digest = resp.headers().get("Docker-Content-Digest").value_or("");
  return r;
}

static descriptor describe(const detail::manifest_response& r, std::string_view url,
                           const reference& ref, const digest* body_digest) {
  std::string why;
  auto d =
      detail::manifest_descriptor(r, ref.has_digest() ? &ref.digest() : nullptr, body_digest, &why);
  if (!d) protocol_error(r.method, url, why, static_cast<errc>(d.error().value()));
  return std::move(*d);
}

// A manifest body up to this size is read inside the operation and served
// from memory, still verified when it is read: its connection goes back to
// the pool at once, and the caller's read_all completes without another
// coroutine on the client's strand (blob_reader::read_all_start). Not a
// limit: longer bodies stream as blobs do.
constexpr std::uint64_t read_in_operation_max = 64 * 1024;

// Whether the body is short enough to read inside the operation.
static bool read_in_operation(const http::response& resp, const descriptor& desc) {
  auto n = resp.content_length();
  return n && *n <= read_in_operation_max && *n == static_cast<std::uint64_t>(desc.size);
}

static blob_reader memory_reader(const state_ptr& s, descriptor desc, std::string url,
                                 http::response& resp, std::string body) {
  return blob_reader(std::make_unique<blob_reader_impl>(s->client, std::move(body),
                                                        std::move(resp.impl()->headers_),
                                                        std::move(desc), std::move(url)));
}

// The short body when it came with the header (most manifests): it becomes
// a reader without a coroutine (and a frame) of its own. Nullopt, nothing
// taken, otherwise.
static std::optional<std::string> buffered_body(const descriptor& desc, http::response& resp) {
  if (!read_in_operation(resp, desc)) return std::nullopt;
  return resp.impl()->take_buffered_body(*resp.content_length());
}

// `desc` by reference: the caller awaits at once and keeps it (a copy
// passed by value would sit in the caller's frame).
static awaitable<blob_reader> manifest_reader(const state_ptr& s, const descriptor& desc,
                                              std::string url, http::response resp) {
  if (read_in_operation(resp, desc)) {
    auto body = co_await resp.impl()->read_all(*resp.content_length());
    co_return memory_reader(s, desc, std::move(url), resp, std::move(body));
  }
  co_return stream_reader(nullptr, s->client, desc, std::move(url), std::move(resp));
}

// A manifest request: `method` on `url`, accepting `accept`.
static http::request manifest_request(const repository_state& s, std::string method,
                                      const std::string& url, std::string_view accept) {
  auto req = make_request(s, std::move(method), url);
  req.headers.add("Accept", accept);  // (a new request has no fields to replace)
  return req;
}

awaitable<blob_reader> detail::fetch_manifest(state_ptr s, descriptor target) {
  auto url = manifest_url(*s, target.digest.str());
  auto resp =
      co_await send(s->client, s->options, manifest_request(*s, "GET", url, target.media_type));
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
  if (auto body = buffered_body(target, resp))
    co_return memory_reader(s, std::move(target), std::move(url), resp, std::move(*body));
  co_return co_await manifest_reader(s, target, std::move(url), std::move(resp));
}

// The coroutines below keep their frames small (every local of a GCC
// coroutine is in its frame): results boxed, rare paths in coroutines of
// their own, descriptors built in plain functions.

awaitable<coras::detail::boxed<descriptor>> detail::resolve_manifest(state_ptr s,
                                                                     std::string text) {
  auto ref = parse_ref(*s, text);
  auto url = manifest_url(*s, ref.tag_or_digest());
  auto resp = co_await send(s->client, s->options, manifest_request(*s, "HEAD", url, s->accept));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  co_return std::make_unique<descriptor>(describe(summary(resp, "HEAD"), url, ref, nullptr));
}

namespace {
// A GET answer without a digest header: hash a bounded read of the body and
// serve it from memory.
awaitable<void> describe_by_body(state_ptr s, const reference& ref, std::string url,
                                 http::response resp, fetched& out) {
  auto body = co_await resp.impl()->read_all(s->options.max_metadata_bytes);
  auto d = digest::of(body, ref.has_digest() ? ref.digest().algorithm() : digest_algorithm::sha256);
  out.desc = describe(summary(resp, "GET"), url, ref, &d);
  out.body = blob_reader(std::make_unique<blob_reader_impl>(
      s->client, std::move(body), resp.headers(), out.desc, std::move(url)));
}
}  // namespace

awaitable<coras::detail::boxed<fetched>> detail::fetch_manifest_reference(state_ptr s,
                                                                          std::string text) {
  auto ref = parse_ref(*s, text);
  auto url = manifest_url(*s, ref.tag_or_digest());
  auto resp = co_await send(s->client, s->options, manifest_request(*s, "GET", url, s->accept));
  if (resp.status() != 200) co_await raise_error(resp, "GET", url);
  auto out = std::make_unique<fetched>();
  if (!resp.content_length()) {
    // No length to describe it by: ask HEAD, as the seed does, then verify
    // the streamed body against that answer.
    out->desc = std::move(*co_await resolve_manifest(s, text));
  } else if (detail::needs_body_digest(summary(resp, "GET"))) {
    co_await describe_by_body(s, ref, std::move(url), std::move(resp), *out);
    co_return out;
  } else {
    out->desc = describe(summary(resp, "GET"), url, ref, nullptr);
  }
  if (auto body = buffered_body(out->desc, resp))
    out->body = memory_reader(s, out->desc, std::move(url), resp, std::move(*body));
  else
    out->body = co_await manifest_reader(s, out->desc, std::move(url), std::move(resp));
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
      throw coras::error(errc::size_limit_exceeded,
                         "manifest of " + std::to_string(expected.size) +
                             " bytes exceeds repository_options::max_metadata_bytes");
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

awaitable<void> detail::push_manifest_reference(state_ptr s, descriptor expected,
                                                std::shared_ptr<byte_source> content,
                                                std::string text) {
  auto ref = parse_ref(*s, text);
  co_await detail::push_manifest(s, std::move(expected), std::move(content), ref.tag_or_digest());
}

namespace {

// The tags `texts` name (each a tag or a reference holding one), each once.
std::vector<std::string> tags_of(const repository_state& s, const std::vector<std::string>& texts) {
  std::vector<std::string> tags;
  for (const auto& text : texts) {
    auto ref = parse_ref(s, text);
    if (ref.has_digest() || ref.tag().empty())
      throw coras::error(errc::invalid_reference, "\"" + text + "\" names no tag");
    auto tag = std::string(ref.tag());
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(std::move(tag));
  }
  return tags;
}

// PUT the manifest by digest with `?tag=` for each of `tags`; the tags the
// registry says it created (OCI-Tag), none when it ignored the query.
awaitable<std::vector<std::string>> put_with_tags(state_ptr s, descriptor expected,
                                                  std::string bytes,
                                                  std::vector<std::string> tags) {
  auto url = manifest_url(*s, expected.digest.str()) + tag_query(tags);
  auto req = make_request(*s, "PUT", url);
  req.headers.set("Content-Type", expected.media_type);
  req.body = coras::memory_source(std::move(bytes));
  auto resp = co_await send(s->client, s->options, std::move(req));
  if (resp.status() != 201) co_await raise_error(resp, "PUT", url);
  if (!resp.headers().get("OCI-Subject").value_or("").empty())
    detail::set_capability(*s->referrers, true);
  verify_content_digest(resp, "PUT", url, expected.digest);
  auto created = oci_tags(resp.headers().get_all("OCI-Tag"));
  co_await resp.impl()->discard();
  co_return created;
}

// Points `tags` at the manifest `bytes` of `desc`, in as few PUTs as the
// registry allows.
awaitable<void> put_tags(state_ptr s, descriptor desc, std::string bytes,
                         std::vector<std::string> tags) {
  std::vector<std::string> missing = tags;
  if (tags.size() > 1 && s->tags_in_put.value_or(true)) {
    auto created = co_await put_with_tags(s, desc, bytes, tags);
    // A registry that ignores the query (distribution 2.8) stored the
    // manifest by digest and said nothing: tag one by one from now on.
    s->tags_in_put = !created.empty();
    std::erase_if(missing, [&](const std::string& t) {
      return std::find(created.begin(), created.end(), t) != created.end();
    });
  }
  for (const auto& tag : missing) co_await put_manifest(s, desc, coras::memory_source(bytes), tag);
}

}  // namespace

awaitable<void> detail::push_manifest_tags(state_ptr s, descriptor expected,
                                           std::shared_ptr<byte_source> content,
                                           std::vector<std::string> texts) {
  auto tags = tags_of(*s, texts);
  if (static_cast<std::uint64_t>(expected.size) > s->options.max_metadata_bytes)
    throw coras::error(errc::size_limit_exceeded,
                       "manifest of " + std::to_string(expected.size) +
                           " bytes exceeds repository_options::max_metadata_bytes");
  auto bytes = co_await read_body(std::move(content), expected);
  // A manifest with a subject goes up through the referrers indexing (by
  // digest) first; the tags then point at it.
  bool indexed = tags.empty();
  if (!indexed) {
    auto summary = summarize_manifest(bytes);
    indexed = summary.subject.has_value();
  }
  if (indexed) {
    auto ref = expected.digest.str();
    co_await detail::push_manifest(s, expected, coras::memory_source(bytes), std::move(ref));
  }
  if (!tags.empty()) co_await put_tags(s, std::move(expected), std::move(bytes), std::move(tags));
}

awaitable<void> detail::tag_manifest_n(state_ptr s, descriptor desc,
                                       std::vector<std::string> texts) {
  auto tags = tags_of(*s, texts);
  if (tags.empty()) co_return;
  auto reader = co_await fetch_manifest(s, desc);
  auto bytes = co_await reader.impl()->read_all(s->options.max_metadata_bytes);
  co_await put_tags(s, std::move(desc), std::move(bytes), std::move(tags));
}

awaitable<void> detail::tag_manifest(state_ptr s, descriptor desc, std::string text) {
  auto ref = parse_ref(*s, text);
  auto reader = co_await fetch_manifest(s, desc);
  auto bytes = co_await reader.impl()->read_all(s->options.max_metadata_bytes);
  co_await put_manifest(s, std::move(desc), coras::memory_source(std::move(bytes)),
                        ref.tag_or_digest());
}

}  // namespace coras::remote

// The repository's blob operations (oras-go's blobStore): fetch by
// descriptor, HEAD, resolve and fetch by digest reference, cross-repository
// mount, and delete on either endpoint. Each runs on the HTTP client's strand.
#include "auth/challenge.hpp"
#include "blob_reader_impl.hpp"
#include "exchange.hpp"
#include "http/client_impl.hpp"
#include "http/grammar.hpp"
#include "protocol.hpp"
#include "stores.hpp"

#include <coras/core/media_type.hpp>
#include <coras/remote/repository.hpp>

namespace coras::remote {

namespace asio = boost::asio;
using asio::awaitable;
using namespace detail;
// ---- blobs ----

blob_reader detail::stream_reader(state_ptr s, http::client client, descriptor target,
                                  std::string url, http::response resp) {
  blob_reader_setup setup(std::move(client));
  setup.repo = std::move(s);
  setup.hasher.emplace(target.digest.algorithm());
  setup.target = std::move(target);
  setup.url = std::move(url);
  return blob_reader(std::make_unique<blob_reader_impl>(std::move(setup), std::move(resp)));
}

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

awaitable<http::fields> detail::fetch_blob_head(state_ptr s, descriptor target) {
  auto url = blob_url(*s, target.digest);
  auto resp = co_await send(s->client, s->options, make_request(*s, "HEAD", url));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  if (auto n = resp.content_length(); n && *n != static_cast<std::uint64_t>(target.size))
    protocol_error("HEAD", url, "mismatch Content-Length", errc::size_mismatch);
  co_return resp.headers();
}

// oras-go's generateBlobDescriptor; the size the registry claims is checked
// (never negative, at most repository_options::max_blob_bytes) before anyone
// plans with it.
static descriptor blob_descriptor(const http::response& resp, std::string_view method,
                                  std::string_view url, const digest& d,
                                  std::uint64_t max_blob_bytes) {
  descriptor out;
  out.media_type = http::grammar::media_type_of(content_type_of(resp));
  if (out.media_type.empty()) out.media_type = "application/octet-stream";
  auto n = resp.content_length();
  if (!n) protocol_error(method, url, "unknown response Content-Length");
  std::string why;
  auto size = checked_content_length(*n, max_blob_bytes, "blob " + d.str(), &why);
  if (!size) protocol_error(method, url, why, static_cast<errc>(size.error().value()));
  out.size = *size;
  verify_content_digest(resp, method, url, d);
  out.digest = d;
  return out;
}

static digest digest_of(const reference& ref, std::string_view text) {
  if (!ref.has_digest())
    throw coras::error(errc::invalid_reference,
                       "invalid reference \"" + std::string(text) + "\": not a digest");
  return ref.digest();
}

awaitable<descriptor> detail::resolve_blob(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto d = digest_of(ref, text);
  auto url = blob_url(*s, d);
  auto resp = co_await send(s->client, s->options, make_request(*s, "HEAD", url));
  if (resp.status() != 200) co_await raise_error(resp, "HEAD", url);
  co_return blob_descriptor(resp, "HEAD", url, d, s->options.max_blob_bytes);
}

awaitable<fetched> detail::fetch_blob_reference(state_ptr s, std::string text) {
  auto ref = parse_ref(*s, text);
  auto d = digest_of(ref, text);
  auto url = blob_url(*s, d);
  auto resp = co_await send(s->client, s->options, make_request(*s, "GET", url));
  if (resp.status() != 200) co_await raise_error(resp, "GET", url);
  // (No co_await inside ?: — GCC 12 miscompiles it.)
  descriptor desc;
  if (resp.content_length())
    desc = blob_descriptor(resp, "GET", url, d, s->options.max_blob_bytes);
  else
    desc = co_await resolve_blob(s, text);
  fetched out;
  out.desc = desc;
  out.body = stream_reader(s, s->client, desc, std::move(url), std::move(resp));
  co_return out;
}

awaitable<void> detail::mount_blob(state_ptr s, descriptor desc, std::string from,
                                   content_factory get_content) {
  if (auto problem = check_repository(from); !problem.empty())
    throw coras::error(errc::invalid_reference,
                       "invalid source repository \"" + from + "\": " + problem);
  auto url = s->base + "blobs/uploads/?mount=" + detail::query_escape(desc.digest.str()) +
             "&from=" + detail::query_escape(from);
  // A mount that falls back to an upload (202) uploads with this digest.
  if (auto alg = digest_algorithm_query(desc.digest.algorithm()); !alg.empty())
    url += "&" + alg.substr(1);
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
awaitable<void> detail::delete_content(state_ptr s, descriptor target, bool manifest) {
  auto url = manifest ? manifest_url(*s, target.digest.str()) : blob_url(*s, target.digest);
  auto resp = co_await send(s->client, s->options, make_request(*s, "DELETE", url));
  if (resp.status() != 202) co_await raise_error(resp, "DELETE", url);
  verify_content_digest(resp, "DELETE", url, target.digest);
  co_await resp.impl()->discard();
}

}  // namespace coras::remote

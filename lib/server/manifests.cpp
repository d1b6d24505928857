// Manifests: GET and HEAD by tag or digest, PUT (the body is collected, then
// checked and stored in finish), DELETE of a digest or a tag.
#include "server/handler.hpp"

#include <coras/core/reference.hpp>

#include <algorithm>

namespace coras::server::detail {

namespace {

// `?tag=a&tag=b` of a PUT (distribution-spec "Pushing Manifests"): the
// tags that point at the manifest besides the one in the path, answered
// with an `OCI-Tag` header each once stored.
void collect_put_tags(exchange& ex, const boost::urls::params_view& params) {
  std::string why;
  auto tags = put_tags(params, &why);
  if (!tags) {
    ex.sink = body_sink::none;
    const unsigned status = tags.error() == errc::size_limit_exceeded ? 414 : 0;
    return set_error(ex.out, registry_errc::manifest_invalid, why, status);
  }
  ex.tags = std::move(*tags);
}

}  // namespace

void dispatcher::handle_manifest(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  const auto& ref = ex.where.reference;
  const auto method = ex.head.method;
  const bool by_digest = ref.find(':') != std::string::npos;
  std::optional<digest> d;
  if (by_digest) {
    std::string why;
    auto parsed = digest::try_parse(ref, &why);
    if (!parsed) return set_error(out, registry_errc::digest_invalid, why);
    d = *parsed;
  } else if (auto problem = check_tag(ref); !problem.empty()) {
    return method == verb::put ? set_error(out, registry_errc::manifest_invalid, problem)
                               : set_error(out, registry_errc::manifest_unknown, problem);
  }

  switch (method) {
    case verb::get:
    case verb::head: {
      if (upstream_ && manifest_from_upstream(ex, by_digest)) return;
      if (!store_->repository_exists(name))
        return set_error(out, registry_errc::name_unknown, name);
      auto m = store_->find_manifest(name, ref);
      if (!m) return set_error(out, registry_errc::manifest_unknown, ref);
      out.set("Content-Type", m->media_type);
      out.set("Docker-Content-Digest", m->digest.str());
      out.set("ETag", '"' + m->digest.str() + '"');
      out.length = m->bytes->size();
      out.memory = std::move(m->bytes);
      out.head_only = method == verb::head;
      return;
    }
    case verb::put:
      if (ex.head.content_length && *ex.head.content_length > options_.max_manifest_bytes) {
        set_error(out, registry_errc::size_invalid,
                  "manifest larger than " + std::to_string(options_.max_manifest_bytes) +
                      " bytes (registry_options::max_manifest_bytes)",
                  413);
        return;
      }
      ex.sink = body_sink::collect;
      ex.limit = options_.max_manifest_bytes;
      ex.expected = d;
      return collect_put_tags(ex, params);
    case verb::delete_: {
      const bool gone =
          by_digest ? store_->delete_manifest(name, *d) : store_->delete_tag(name, ref);
      if (!gone) return set_error(out, registry_errc::manifest_unknown, ref);
      out.status = 202;
      return;
    }
    default: return set_error(out, registry_errc::unsupported);
  }
}

void dispatcher::finish_manifest_put(exchange& ex) {
  if (ex.head.method != verb::put) return;
  auto& out = ex.out;
  const auto& name = ex.where.name;
  auto bytes = std::make_shared<const std::string>(std::move(ex.collected));
  std::string why;
  auto facts = analyze_manifest(ex.head.content_type, *bytes, &why);
  if (!facts) return set_error(out, registry_errc::manifest_invalid, why);

  const auto algorithm = ex.expected ? ex.expected->algorithm() : digest_algorithm::sha256;
  const auto actual = digest::of(*bytes, algorithm);
  if (ex.expected && actual != *ex.expected)
    return set_error(out, registry_errc::digest_invalid,
                     "manifest digest is " + actual.str() + ", not " + ex.expected->str());
  for (const auto& b : facts->blobs)
    if (!store_->has_blob(name, b))
      return set_error(out, registry_errc::manifest_blob_unknown, b.str());
  if (!options_.allow_sparse_index)
    for (const auto& m : facts->manifests)
      if (!store_->has_manifest(name, m))
        return set_error(out, registry_errc::manifest_blob_unknown,
                         m.str() +
                             ": the index's manifest is not in the repository (a sparse index; "
                             "registry_options::allow_sparse_index, coras serve "
                             "--allow-sparse-index, accepts it)");

  const bool query_tags = !ex.tags.empty();
  auto tags = std::move(ex.tags);
  if (!ex.expected && std::find(tags.begin(), tags.end(), ex.where.reference) == tags.end())
    tags.insert(tags.begin(), ex.where.reference);
  store_->put_manifest(name, actual, bytes, *facts, tags);
  out.status = 201;
  // Asked for tags: one header per tag created, the path's included, which
  // is how a client tells this registry from one that ignores the query.
  if (query_tags)
    for (const auto& t : tags) out.set("OCI-Tag", t);
  out.set("Location", "/v2/" + name + "/manifests/" + actual.str());
  out.set("Docker-Content-Digest", actual.str());
  if (facts->subject && options_.referrers_api)
    out.set("OCI-Subject", facts->subject->digest.str());
}

}  // namespace coras::server::detail

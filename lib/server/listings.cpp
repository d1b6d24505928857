// Listings: the catalog, a repository's tags and the Referrers API, each
// paginated with `n`, `last` and a `Link` to the next page.
#include "server/handler.hpp"

#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <iterator>

namespace coras::server::detail {

void dispatcher::handle_list(exchange& ex, const boost::urls::params_view& params) {
  std::optional<std::size_t> n;
  if (auto text = param(params, "n")) parse_count(*text, n);  // malformed: no limit
  const auto last = param(params, "last").value_or("");
  std::vector<std::string> list;
  std::string path;
  if (ex.where.kind == route_kind::catalog) {
    list = store_->repositories();
    path = "/v2/_catalog";
  } else {
    auto tags = store_->tags(ex.where.name);
    if (!tags) return set_error(ex.out, registry_errc::name_unknown, ex.where.name);
    list = std::move(*tags);
    path = "/v2/" + ex.where.name + "/tags/list";
  }
  const auto p = paginate(list, n, last);
  set_text(ex.out, 200,
           ex.where.kind == route_kind::catalog ? catalog_json(list, p.begin, p.end)
                                                : tags_json(ex.where.name, list, p.begin, p.end),
           json_type);
  if (p.more) ex.out.set("Link", next_link(path, *n, list[p.end - 1]));
}

void dispatcher::handle_referrers(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  std::string why;
  auto subject = digest::try_parse(ex.where.reference, &why);
  if (!subject) return set_error(out, registry_errc::digest_invalid, why);
  const auto artifact_type = param(params, "artifactType").value_or("");
  std::optional<std::size_t> n;
  if (auto text = param(params, "n")) parse_count(*text, n);
  const auto last = param(params, "last").value_or("");

  // An unknown repository is an empty list too: a 404 here would tell clients
  // that the API is missing.
  auto all = store_->referrers(ex.where.name, *subject, artifact_type);
  std::vector<std::string> keys;
  keys.reserve(all.size());
  for (const auto& d : all) keys.push_back(d.digest.str());
  const auto p = paginate(keys, n, last);

  image_index index;
  index.media_type = media_type::oci_index;
  index.manifests.assign(
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(p.begin)),
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(p.end)));
  set_text(out, 200, index.to_json(), media_type::oci_index);
  if (!artifact_type.empty()) out.set("OCI-Filters-Applied", "artifactType");
  if (p.more)
    out.set("Link", next_link("/v2/" + ex.where.name + "/referrers/" + subject->str(), *n,
                              keys[p.end - 1], artifact_type));
}

}  // namespace coras::server::detail

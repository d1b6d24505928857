// A registry's error answer: the first line of the input is the request URL
// (may carry credentials), the rest the body. Invariants: only the first
// 8 KiB of the body count (the same answer as for the cut body); the entries
// written back as the spec's document read back the same; `detail` is JSON;
// the URL kept has no userinfo and stripping again changes nothing.
#include "fuzz.hpp"

#include <coras/core/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

using coras::fuzz::require;

namespace {

bool same(const coras::registry_error& a, const coras::registry_error& b) {
  if (a.errors.size() != b.errors.size() || a.url != b.url || a.status != b.status) return false;
  for (std::size_t i = 0; i < a.errors.size(); ++i)
    if (a.errors[i].code != b.errors[i].code || a.errors[i].message != b.errors[i].message ||
        a.errors[i].detail != b.errors[i].detail)
      return false;
  return true;
}

}  // namespace

CORAS_FUZZ_TARGET {
  const auto input = coras::fuzz::text(data, size);
  auto [url, body] = coras::fuzz::split(input, "\n");
  const unsigned status = size > 0 ? 400 + data[0] % 200 : 404;
  const auto e = coras::parse_registry_error(status, "GET", url, body);
  constexpr std::size_t limit = 8 * 1024;
  if (body.size() > limit)
    require(same(e, coras::parse_registry_error(status, "GET", url, body.substr(0, limit))),
            "only the first 8 KiB are read", url);
  (void)e.code();
  (void)e.to_string();
  const coras::error thrown(e);
  require(thrown.registry() != nullptr, "an error keeps the registry's answer", url);

  boost::json::array list;
  for (const auto& entry : e.errors) {
    boost::json::object o;
    o["code"] = entry.code;
    o["message"] = entry.message;
    if (!entry.detail.empty()) {
      boost::system::error_code ec;
      auto detail = boost::json::parse(entry.detail, ec);
      require(!ec, "detail is JSON", entry.detail);
      o["detail"] = std::move(detail);
    }
    list.push_back(std::move(o));
    coras::registry_errc code;
    if (coras::parse_registry_errc(entry.code, code))
      require(coras::to_string(code) == entry.code, "a spec code prints back", entry.code);
  }
  if (!e.errors.empty()) {
    boost::json::object doc;
    doc["errors"] = std::move(list);
    const auto text = boost::json::serialize(doc);
    if (text.size() <= limit) {
      auto again = coras::parse_registry_error(status, "GET", url, text);
      require(again.errors.size() == e.errors.size(), "written entries read back", text);
      for (std::size_t i = 0; i < e.errors.size(); ++i)
        require(again.errors[i].code == e.errors[i].code &&
                    again.errors[i].message == e.errors[i].message,
                "write -> parse is stable", text);
    }
  }

  const auto stripped = coras::strip_credentials(url);
  require(coras::strip_credentials(stripped) == stripped, "stripping is idempotent", url);
  if (auto u = boost::urls::parse_uri_reference(stripped))
    require(!u->has_userinfo(), "no userinfo survives", url);
  return 0;
}

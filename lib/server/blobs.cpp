// Blobs: GET (whole or one range, or a redirect when the test hook asks for
// one), HEAD and DELETE.
#include "server/handler.hpp"

#include "http/grammar.hpp"

namespace coras::server::detail {
namespace {

constexpr std::string_view octet_stream = "application/octet-stream";

}  // namespace

std::string blob_location(std::string_view name, const digest& d) {
  std::string s = "/v2/";
  s += name;
  s += "/blobs/";
  s += d.str();
  return s;
}

void dispatcher::handle_blob(exchange& ex) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  const auto method = ex.head.method;
  std::string why;
  auto d = digest::try_parse(ex.where.reference, &why);
  if (!d) return set_error(out, registry_errc::digest_invalid, why);

  if (method == verb::delete_) {
    if (!store_->delete_blob(name, *d))
      return set_error(out, registry_errc::blob_unknown, d->str());
    out.status = 202;
    return;
  }
  if (!is_read(method)) return set_error(out, registry_errc::unsupported);
  if (upstream_ && blob_from_upstream(ex, *d)) return;
  if (!store_->repository_exists(name)) return set_error(out, registry_errc::name_unknown, name);
  auto b = store_->find_blob(name, *d);
  if (!b) return set_error(out, registry_errc::blob_unknown, d->str());

  if (method == verb::get) {
    if (auto base = hooks_.redirect_base(); !base.empty()) {
      out.status = 307;
      out.set("Location", base + blob_location(name, *d));
      return;
    }
  }
  if (!blob_reply(ex, *d, b->size)) return;
  out.memory = std::move(b->memory);
  out.file = std::move(b->file);
  if (!out.memory && out.file.empty()) out.memory = std::make_shared<const std::string>();
  out.head_only = method == verb::head;
  if (method == verb::get) out.cut_after = hooks_.take_cut();
  if (method == verb::get && out.length > 0 && out.memory && hooks_.take_corruption()) {
    // One byte in the middle of what is sent changed: wrong bytes under the
    // right length and digest header.
    auto wrong = std::make_shared<std::string>(*out.memory);
    (*wrong)[out.offset + out.length / 2] ^= 0x20;
    out.memory = std::move(wrong);
  }
}

bool dispatcher::blob_reply(exchange& ex, const digest& d, std::uint64_t size) {
  auto& out = ex.out;
  const auto method = ex.head.method;
  out.set("Content-Type", std::string(octet_stream));
  out.set("Docker-Content-Digest", d.str());
  out.set("ETag", '"' + d.str() + '"');
  if (options_.range_requests) out.set("Accept-Ranges", "bytes");
  out.offset = 0;
  out.length = size;
  out.head_only = method == verb::head;
  if (method == verb::get && options_.range_requests && !ex.head.range.empty()) {
    http::grammar::byte_range r;
    switch (http::grammar::parse_range(ex.head.range, size, r)) {
      case http::grammar::range_result::whole: break;
      case http::grammar::range_result::unsatisfiable:
        out.status = 416;
        out.set("Content-Range", "bytes */" + std::to_string(size));
        return false;
      case http::grammar::range_result::partial:
        out.status = 206;
        out.set("Content-Range", "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) +
                                     "/" + std::to_string(size));
        out.offset = r.first;
        out.length = r.last - r.first + 1;
        break;
    }
  }
  return true;
}

}  // namespace coras::server::detail

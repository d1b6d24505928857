// Uploads: POST starts a session (or mounts, or takes a monolithic body),
// PATCH appends a chunk, PUT appends the last one and commits, GET reports the
// session's state and DELETE cancels it. Bytes reach the session in on_body
// (dispatcher.cpp); finish_upload answers once the body is in.
#include "server/handler.hpp"

#include "http/grammar.hpp"

#include <coras/core/reference.hpp>

namespace coras::server::detail {
namespace {

std::string upload_location(std::string_view name, std::string_view id) {
  std::string s = "/v2/";
  s += name;
  s += "/blobs/uploads/";
  s += id;
  return s;
}

// The upload's state, as every upload response carries it.
void set_upload_headers(reply& out, std::string_view name, const upload& u) {
  out.set("Location", upload_location(name, u.id()));
  // An empty upload says "0-0", as distribution does.
  out.set("Range", "0-" + std::to_string(u.size() == 0 ? 0 : u.size() - 1));
  out.set("Docker-Upload-UUID", u.id());
}

}  // namespace

void dispatcher::handle_upload_start(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  if (auto mount = param(params, "mount")) {
    auto from = param(params, "from");
    auto d = digest::try_parse(*mount);
    if (options_.mount && from && d && check_repository(*from).empty() &&
        store_->mount_blob(*from, name, *d)) {
      out.status = 201;
      out.set("Location", blob_location(name, *d));
      out.set("Docker-Content-Digest", d->str());
      return;
    }
  } else if (auto text = param(params, "digest")) {
    // Monolithic upload: the body is the blob.
    std::string why;
    auto d = digest::try_parse(*text, &why);
    if (!d) return set_error(out, registry_errc::digest_invalid, why);
    upload_limit over = upload_limit::none;
    ex.session = store_->start_upload(name, limits_, &over);
    if (!ex.session) return refuse_upload(ex, over);
    if (ex.head.content_length) {
      over = store_->charge_upload(*ex.session, *ex.head.content_length, limits_, true);
      if (over != upload_limit::none) {
        store_->drop_upload(ex.session->id());
        ex.session = nullptr;
        return refuse_upload(ex, over);
      }
    }
    ex.session->hash_with(d->algorithm());
    ex.session_acquired = ex.session->try_acquire();
    ex.expected = *d;
    ex.sink = body_sink::upload;
    return;
  }
  // distribution-spec: `?digest-algorithm=sha512` names the digest the
  // upload will be completed with; hashed as the bytes arrive.
  auto algorithm = digest_algorithm::sha256;
  if (auto name_of = param(params, "digest-algorithm")) {
    if (*name_of == "sha512")
      algorithm = digest_algorithm::sha512;
    else if (*name_of != "sha256")
      return set_error(out, registry_errc::digest_invalid,
                       "unsupported digest-algorithm \"" + *name_of + "\": sha256 or sha512");
  }
  upload_limit why = upload_limit::none;
  auto session = store_->start_upload(name, limits_, &why);
  if (!session) return refuse_upload(ex, why);
  session->hash_with(algorithm);
  out.status = 202;
  set_upload_headers(out, name, *session);
}

void dispatcher::handle_upload(exchange& ex, const boost::urls::params_view& params) {
  auto& out = ex.out;
  const auto& name = ex.where.name;
  auto session = store_->find_upload(name, ex.where.reference, limits_);
  if (!session) return set_error(out, registry_errc::blob_upload_unknown, ex.where.reference);
  switch (ex.head.method) {
    case verb::get:
      out.status = 204;
      set_upload_headers(out, name, *session);
      return;
    case verb::delete_:
      store_->drop_upload(session->id());
      out.status = 204;
      return;
    case verb::patch:
    case verb::put: break;
    default: return set_error(out, registry_errc::unsupported);
  }
  std::optional<digest> expected;
  if (ex.head.method == verb::put) {
    std::string why;
    auto text = param(params, "digest");
    if (!text) return set_error(out, registry_errc::digest_invalid, "digest parameter missing");
    auto d = digest::try_parse(*text, &why);
    if (!d) return set_error(out, registry_errc::digest_invalid, why);
    expected = *d;
  }
  if (!ex.head.content_range.empty()) {
    auto r = http::grammar::parse_content_range(ex.head.content_range);
    if (!r) return set_error(out, registry_errc::blob_upload_invalid, "malformed Content-Range");
    if (r->first != session->size()) {
      set_error(out, registry_errc::blob_upload_invalid,
                "Content-Range starts at " + std::to_string(r->first) + ", upload is at " +
                    std::to_string(session->size()),
                416);
      set_upload_headers(out, name, *session);
      return;
    }
    if (ex.head.content_length && *ex.head.content_length != r->last - r->first + 1)
      return set_error(out, registry_errc::size_invalid,
                       "Content-Range and Content-Length disagree");
  }
  // A declared length beyond the room left is refused before the body is read.
  if (ex.head.content_length) {
    if (auto why = store_->charge_upload(*session, *ex.head.content_length, limits_, true);
        why != upload_limit::none) {
      refuse_upload(ex, why);
      set_upload_headers(out, name, *session);
      return;
    }
  }
  if (!session->try_acquire())
    return set_error(out, registry_errc::blob_upload_invalid, "upload in use by another request");
  ex.session = std::move(session);
  ex.session_acquired = true;
  ex.expected = expected;
  ex.sink = body_sink::upload;
  if (ex.head.has_body()) ex.cut_after = hooks_.take_upload_cut();
}

void dispatcher::refuse_upload(exchange& ex, upload_limit which) {
  set_error(ex.out, registry_errc::too_many_requests, describe(which, limits_), 429);
}

void dispatcher::finish_upload(exchange& ex) {
  if (ex.sink != body_sink::upload || !ex.session) return;
  auto& out = ex.out;
  const auto& name = ex.where.name;
  // The whole body arrived before the cut point: stored, and the response lost.
  if (ex.cut_after) return drop_request(ex);
  if (ex.head.method == verb::patch) {
    out.status = 202;
    set_upload_headers(out, name, *ex.session);
    abort(ex);  // releases the session for the next request
    return;
  }
  std::string actual;
  const auto status = store_->commit_upload(ex.session, *ex.expected, &actual);
  abort(ex);
  switch (status) {
    case storage::commit_status::committed:
      out.status = 201;
      out.set("Location", blob_location(name, *ex.expected));
      out.set("Docker-Content-Digest", ex.expected->str());
      return;
    case storage::commit_status::digest_mismatch:
      return set_error(out, registry_errc::digest_invalid,
                       "content digest is " + actual + ", not " + ex.expected->str());
    case storage::commit_status::io_error: set_text(out, 500, "cannot store blob\n"); return;
  }
}

}  // namespace coras::server::detail

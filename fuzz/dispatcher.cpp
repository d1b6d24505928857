// Whole requests through the embedded registry's dispatcher, without
// sockets, fed the way lib/server/registry.cpp feeds it (begin, the body in
// pieces to on_body while it accepts them, finish; abort for a body nobody
// takes). One input is a session of requests on one in-memory registry,
// separated by a line `===`:
//
//   METHOD TARGET
//   Header: value            (Authorization, Content-Type, Content-Range,
//   ...                       Range, Host, Content-Length, Transfer-Encoding)
//
//   body
//
// `{location}` in a target stands for the last Location answered (an
// upload's). A first line `mode N` picks the options: 0 plain, 1 Basic auth, 2 token
// auth, 3 small limits. Invariants: every request is answered (nothing
// thrown); a status is 100..599; a collecting body never goes past its
// limit; a blob body lies inside its bytes; a full GET with
// Docker-Content-Digest serves bytes with that digest; an error answer in
// JSON is the spec's document.
#include "fuzz.hpp"

#include "server/handler.hpp"

#include <coras/core/digest.hpp>
#include <coras/http/fields.hpp>

#include <boost/json/parse.hpp>

#include <charconv>
#include <exception>
#include <string>
#include <vector>

using coras::fuzz::require;
using namespace coras::server::detail;
using coras::http::iequals;

namespace {

struct request {
  std::string method, target, host, authorization, content_type, content_range, range;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool malformed = false;  // a Content-Length Beast refuses before the dispatcher sees it
  std::string body;
};

verb to_verb(std::string_view m) {
  if (m == "GET") return verb::get;
  if (m == "HEAD") return verb::head;
  if (m == "POST") return verb::post;
  if (m == "PUT") return verb::put;
  if (m == "PATCH") return verb::patch;
  if (m == "DELETE") return verb::delete_;
  return verb::other;
}

request read_request(std::string_view text) {
  request rq;
  auto [line, rest] = coras::fuzz::split(text, "\n");
  auto [method, target] = coras::fuzz::split(line, " ");
  rq.method = method;
  rq.target = target;
  bool length_given = false;
  for (;;) {
    auto [h, after] = coras::fuzz::split(rest, "\n");
    if (h.empty()) {
      rq.body = after;
      break;
    }
    rest = after;
    auto [name, value] = coras::fuzz::split(h, ": ");
    std::string v(value);
    if (iequals(name, "Authorization"))
      rq.authorization = v;
    else if (iequals(name, "Content-Type"))
      rq.content_type = v;
    else if (iequals(name, "Content-Range"))
      rq.content_range = v;
    else if (iequals(name, "Range"))
      rq.range = v;
    else if (iequals(name, "Host"))
      rq.host = v;
    else if (iequals(name, "Transfer-Encoding"))
      rq.chunked = iequals(v, "chunked");
    else if (iequals(name, "Content-Length")) {
      std::uint64_t n = 0;
      auto r = std::from_chars(v.data(), v.data() + v.size(), n);
      if (r.ec == std::errc() && r.ptr == v.data() + v.size())
        rq.content_length = n;
      else
        rq.malformed = true;
      length_given = true;
    }
    if (after.empty()) break;
  }
  // As Beast reads it: a body is as long as its Content-Length says (the rest
  // would be the next request), or all of it when chunked.
  if (rq.chunked) {
    rq.content_length.reset();
  } else if (length_given && rq.content_length) {
    if (*rq.content_length < rq.body.size()) rq.body.resize(*rq.content_length);
    // Shorter than announced: the connection broke mid-body (handled below).
  } else if (!rq.body.empty() || rq.method == "PUT" || rq.method == "POST" ||
             rq.method == "PATCH") {
    rq.content_length = rq.body.size();
  }
  return rq;
}

coras::server::registry_options options_for(int mode) {
  coras::server::registry_options o;
  switch (mode) {
    case 1: o.basic_auth = coras::server::credentials{"user", "pass"}; break;
    case 2:
      o.token_auth = coras::server::credentials{"user", "pass"};
      o.anonymous_pull = true;
      break;
    case 3:
      o.max_manifest_bytes = 512;
      o.max_upload_bytes = 4096;
      o.max_upload_bytes_per_repository = 2048;
      o.max_upload_sessions = 2;
      o.max_upload_sessions_per_repository = 1;
      o.range_requests = false;
      o.referrers_api = false;
      break;
    default: break;
  }
  return o;
}

std::string header_of(const reply& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

void check_reply(const request& rq, const reply& out, std::string_view input) {
  require(out.status >= 100 && out.status <= 599, "a status is 100..599", input);
  if (out.has_blob_body()) {
    require(out.memory != nullptr, "memory storage serves memory", input);
    require(out.offset <= out.memory->size() && out.length <= out.memory->size() - out.offset,
            "a blob body lies inside its bytes", input);
  }
  const auto type = header_of(out, "Content-Type");
  // The token endpoint answers OAuth2's {"error": …}, the rest the
  // distribution spec's {"errors": […]}.
  if (out.status >= 400 && type == json_type && !rq.target.starts_with("/token")) {
    boost::system::error_code ec;
    auto v = boost::json::parse(out.text, ec);
    require(!ec && v.is_object() && v.as_object().contains("errors"),
            "a JSON error is the spec's document", out.text);
  }
  const auto dcd = header_of(out, "Docker-Content-Digest");
  if (!dcd.empty()) {
    auto d = coras::digest::try_parse(dcd);
    require(d.has_value(), "Docker-Content-Digest is a digest", dcd);
    if (rq.method == "GET" && out.status == 200) {
      const std::string body = out.has_blob_body()
                                   ? out.memory->substr(static_cast<std::size_t>(out.offset),
                                                        static_cast<std::size_t>(out.length))
                                   : out.text;
      require(coras::digest::of(body, d->algorithm()) == *d, "served bytes match their digest",
              input);
    }
  }
}

}  // namespace

CORAS_FUZZ_TARGET {
  auto input = coras::fuzz::text(data, size);
  int mode = 0;
  if (input.starts_with("mode ") && input.size() > 5) {
    mode = (input[5] - '0') & 3;
    input = coras::fuzz::split(input, "\n").second;
  }
  hooks h(16);
  dispatcher dispatch(options_for(mode), coras::server::make_memory_storage(), h);
  dispatch.set_default_host("registry.test");
  std::size_t piece = 1;
  std::string location;  // the last Location answered: "{location}" in a target
  for (auto rest = input; !rest.empty();) {
    auto [one, after] = coras::fuzz::split(rest, "\n===\n");
    rest = after;
    auto rq = read_request(one);
    if (rq.malformed) continue;
    if (auto at = rq.target.find("{location}"); at != std::string::npos)
      rq.target.replace(at, 10, location);
    exchange ex;
    ex.head.method = to_verb(rq.method);
    ex.head.method_name = rq.method;
    ex.head.target = rq.target;
    ex.head.host = rq.host;
    ex.head.authorization = rq.authorization;
    ex.head.content_type = rq.content_type;
    ex.head.content_range = rq.content_range;
    ex.head.range = rq.range;
    ex.head.content_length = rq.content_length;
    ex.head.chunked = rq.chunked;
    piece = piece % 13 + 3;  // pieces of 4..16 bytes, varying per request
    try {
      dispatch.begin(ex);
      const bool complete = !rq.content_length || rq.body.size() >= *rq.content_length;
      if (ex.sink != body_sink::none && ex.out.status < 300) {
        bool stopped = false;
        const std::string_view body = rq.body;
        for (std::size_t at = 0; at < body.size() && !stopped; at += piece) {
          stopped = !dispatch.on_body(ex, body.substr(at, piece));
          if (ex.sink == body_sink::collect)
            require(ex.collected.size() <= ex.limit, "a collected body stays in its limit", input);
        }
        if (!complete && !stopped)
          dispatch.abort(ex);  // the connection broke mid-body
        else if (!stopped)
          dispatch.finish(ex);
      } else if (rq.chunked || (rq.content_length && *rq.content_length > 0)) {
        dispatch.abort(ex);
      }
    } catch (const std::exception& e) {
      coras::fuzz::fail("the dispatcher answers instead of throwing",
                        std::string(e.what()) + "\n" + std::string(one));
    }
    if (rq.method == "HEAD") ex.out.head_only = true;
    check_reply(rq, ex.out, one);
    if (auto l = header_of(ex.out, "Location"); !l.empty()) location = l;
  }
  return 0;
}

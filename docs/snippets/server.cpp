// The code blocks of docs/server.md, compiled (see readme.cpp).
// [snippet start]
#include <coras/server/registry.hpp>

// [end]
#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/http/client.hpp>
#include <coras/mirror/mirror.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <cassert>

namespace snippets {

void start() {
  // [snippet start]
  boost::asio::io_context ioc;
  coras::server::registry_options o;     // 127.0.0.1, free port, memory, no auth
  o.root = "/var/tmp/reg";               // optional: survive restarts
  coras::server::registry reg(ioc.get_executor(), o);
  reg.start();                           // binds now; reg.port(), reg.url() are valid
  // ... ioc.run() on any thread(s); reg.stop() from anywhere ends it
  // [end]
}

using namespace coras::server;

void shared_storage(boost::asio::any_io_executor ex) {
  // [snippet shared-storage]
  registry_options a_opts;  a_opts.basic_auth = credentials{"u", "p"};
  registry a(ex, a_opts);   a.start();
  registry_options b_opts;  b_opts.storage = a.storage();   // same content, other origin
  registry b(ex, b_opts);   b.start();
  a.redirect_blob_gets(b.url());
  // ... client pulls from a ...
  assert(!b.recent_requests().back().authorization);
  // [end]
}

void header_faults(registry& reg) {
  // [snippet header-faults]
  header_fault no_digest;  // the next manifest GET comes without a digest
  no_digest.path_contains = "/manifests/";
  no_digest.method = "GET";
  no_digest.remove = {"Docker-Content-Digest"};
  reg.inject_headers(no_digest);
  // Aggregate order: {path_contains, method, count, remove, set, unknown_length}.
  // One header fault is pending at a time: each call replaces the previous one.
  reg.inject_headers({"/manifests/", "", 1, {}, {{"Docker-Content-Digest", "sha256:nothex"}}, false});
  reg.inject_headers({"/blobs/", "GET", 2, {}, {}, true});  // two chunked blob GETs
  // [end]
}

void cut_uploads(registry& reg) {
  // [snippet cut-uploads]
  reg.cut_uploads(300 * 1024);      // the next PATCH/PUT body is cut after 300 KiB
  // client: PATCH 1 MiB (Content-Range: 0-1048575) → connection closed, no answer
  // client: GET <location> → 204, Range: 0-307199
  // client: PATCH the rest (Content-Range: 307200-1048575) → 202; PUT ?digest= → 201
  reg.cut_uploads({100, 0});         // first body cut after 100 bytes, the next before its first byte
  reg.drop_upload_sessions();        // every open session → 404 BLOB_UPLOAD_UNKNOWN: restart
  // [end]
}

void mirror(boost::asio::any_io_executor ex) {
  // [snippet mirror]
  coras::http::client_options co;
  co.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
  coras::server::registry_options o;
  o.root = "/var/cache/coras";                     // optional: survive restarts
  coras::mirror::mirror_options m;
  m.upstream = "https://registry-1.docker.io/library";
  auto cache = coras::mirror::attach(o, coras::http::client(ex, co), m);
  coras::server::registry reg(ex, o);
  reg.start();                                     // cache->stats() any time
  // [end]
}

}  // namespace snippets

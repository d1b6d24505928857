// coras serve: the embedded registry as a process.
#include "commands.hpp"

#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/http/client.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <limits>
#include <optional>
#include <string>

namespace coras::cli {

const char* const serve_usage = R"(usage: coras serve [options]

Runs an OCI distribution-spec v1.1 registry until SIGINT or SIGTERM.
Prints "listening on <url>" once it accepts connections.

options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:5000);
                            port 0 picks a free port (the printed URL has it);
                            IPv6 as [::1]:5000; ":5000" binds every interface
  --root DIR                keep content under DIR (default: in memory)
  --tls-cert FILE           PEM certificate chain; with --tls-key serves HTTPS
  --tls-key FILE            PEM private key
  --no-referrers            no Referrers API (404 "404 page not found")
  --no-range                ignore Range requests on blobs
  --no-mount                refuse cross-repository mounts (202 + upload)
  --allow-sparse-index      accept an index whose manifests are not in the
                            repository (default: 400 MANIFEST_BLOB_UNKNOWN)
  --basic-auth USER:PASS    require HTTP basic auth
  --token-auth USER:PASS    require bearer tokens from the built-in /token endpoint
  --anonymous-pull          allow pulls without credentials
  --token-realm URL         token realm announced in challenges (default
                            <scheme>://<listen address>/token; set it when
                            clients use another name, e.g. with ":5000")
  --token-lifetime S        bearer token lifetime in seconds (default 300)
  --refresh-token-lifetime S  refresh token lifetime in seconds (default 86400)

limits (429 TOOMANYREQUESTS / closed connections beyond them; see docs/server.md):
  --max-connections N       open connections (default 1024)
  --idle-timeout S          idle time between requests (default 60)
  --header-timeout S        time for a request head and TLS handshake (default 10)
  --body-timeout S          time a request body may stall (default 60)
  --max-upload-sessions N   open upload sessions (default 256)
  --max-upload-sessions-per-repository N  (default 64)
  --max-upload-bytes N      bytes held by open upload sessions (default 8 GiB)
  --max-upload-bytes-per-repository N     (default 4 GiB)
  --upload-idle-timeout S   an upload session untouched this long ends (default 600)

pull-through mirror (docs/server.md, "Pull-through mirror"):
  --mirror URL              serve as a cache of https://HOST[:PORT][/NAMESPACE]
                            (http:// for a plain-HTTP upstream): what is absent
                            is fetched there, stored and served; credentials for
                            the upstream come from the docker config file
  --mirror-tag-ttl S        re-resolve a tag upstream after S seconds (default 300)
  --mirror-allow-push       store pushes locally (default: 405 UNSUPPORTED)
  --mirror-max-fetches N    blob fetches running upstream at once (default 16)
  --mirror-max-clients N    requests waiting on the upstream at once; beyond: 429
                            (default 512)
  --mirror-max-store-bytes N  bytes of fetched blobs to keep; beyond, the least
                            recently used ones no stored manifest references are
                            evicted (default 0: no limit)
  --mirror-flight-buffer N  bytes of a blob in flight kept in memory for its
                            clients; those behind read what the store wrote
                            (default 8388608)
  --registry-config FILE    docker config file with the upstream's credentials
                            (default ~/.docker/config.json, $DOCKER_CONFIG)
  --ca-file FILE            CA bundle to verify the upstream's certificate
  --stall-blob-gets MS      test hook: every blob GET pauses MS milliseconds
                            after sending half of its body (to interrupt
                            downloads on purpose)
  -h, --help                this text
)";

namespace {

struct usage_error {
  std::string message;
};

// "host:port", "[v6]:port" or ":port" (every interface).
void parse_listen(std::string_view text, server::registry_options& o) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) throw usage_error{"--listen needs HOST:PORT"};
  std::string host(text.substr(0, colon));
  const std::string port(text.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";  // the registry binds numeric addresses only
  std::size_t used = 0;
  unsigned long p = 0;
  try {
    p = std::stoul(port, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (port.empty() || used != port.size() || p > 65535)
    throw usage_error{"--listen: bad port \"" + port + "\""};
  o.address = host;
  o.port = static_cast<std::uint16_t>(p);
}

server::credentials parse_credentials(std::string_view option, std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    throw usage_error{std::string(option) + " needs USER:PASS"};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

// A non-negative decimal integer of at most 18 digits.
std::uint64_t parse_count(std::string_view option, std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos)
    throw usage_error{std::string(option) + " needs a number"};
  return std::stoull(std::string(text));
}

std::chrono::seconds parse_seconds(std::string_view option, std::string_view text) {
  const auto n = parse_count(option, text);
  if (n == 0 || n > 10ULL * 366 * 24 * 3600)
    throw usage_error{std::string(option) + " needs seconds (1 to 10 years)"};
  return std::chrono::seconds(static_cast<std::int64_t>(n));
}

// What --mirror and its companions ask for; empty `upstream`: no mirror.
struct mirror_request {
  mirror::mirror_options options;
  std::string registry_config;
  std::string ca_file;
};

server::registry_options parse(std::span<const std::string_view> args, bool& help,
                               std::chrono::milliseconds& stall, mirror_request& m) {
  server::registry_options o;
  o.port = 5000;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw usage_error{std::string(arg) + " needs a value"};
      return args[++i];
    };
    if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--listen") {
      parse_listen(value(), o);
    } else if (arg == "--root") {
      o.root = std::string(value());
    } else if (arg == "--tls-cert") {
      o.tls_cert_file = std::string(value());
    } else if (arg == "--tls-key") {
      o.tls_key_file = std::string(value());
    } else if (arg == "--no-referrers") {
      o.referrers_api = false;
    } else if (arg == "--no-range") {
      o.range_requests = false;
    } else if (arg == "--no-mount") {
      o.mount = false;
    } else if (arg == "--allow-sparse-index") {
      o.allow_sparse_index = true;
    } else if (arg == "--basic-auth") {
      o.basic_auth = parse_credentials(arg, value());
    } else if (arg == "--token-auth") {
      o.token_auth = parse_credentials(arg, value());
    } else if (arg == "--anonymous-pull") {
      o.anonymous_pull = true;
    } else if (arg == "--token-realm") {
      o.token_realm = std::string(value());
    } else if (arg == "--token-lifetime") {
      o.token_lifetime = parse_seconds(arg, value());
    } else if (arg == "--refresh-token-lifetime") {
      o.refresh_token_lifetime = parse_seconds(arg, value());
    } else if (arg == "--max-connections") {
      o.max_connections = static_cast<std::size_t>(parse_count(arg, value()));
    } else if (arg == "--idle-timeout") {
      o.idle_timeout = parse_seconds(arg, value());
    } else if (arg == "--header-timeout") {
      o.header_timeout = parse_seconds(arg, value());
    } else if (arg == "--body-timeout") {
      o.body_timeout = parse_seconds(arg, value());
    } else if (arg == "--max-upload-sessions") {
      o.max_upload_sessions = static_cast<std::size_t>(parse_count(arg, value()));
    } else if (arg == "--max-upload-sessions-per-repository") {
      o.max_upload_sessions_per_repository = static_cast<std::size_t>(parse_count(arg, value()));
    } else if (arg == "--max-upload-bytes") {
      o.max_upload_bytes = parse_count(arg, value());
    } else if (arg == "--max-upload-bytes-per-repository") {
      o.max_upload_bytes_per_repository = parse_count(arg, value());
    } else if (arg == "--upload-idle-timeout") {
      o.upload_idle_timeout = parse_seconds(arg, value());
    } else if (arg == "--mirror") {
      m.options.upstream = std::string(value());
    } else if (arg == "--mirror-tag-ttl") {
      m.options.tag_ttl = parse_seconds(arg, value());
    } else if (arg == "--mirror-allow-push") {
      m.options.allow_push = true;
    } else if (arg == "--mirror-max-fetches") {
      m.options.max_upstream_fetches = static_cast<std::size_t>(parse_count(arg, value()));
      if (m.options.max_upstream_fetches == 0)
        throw usage_error{"--mirror-max-fetches needs 1 or more"};
    } else if (arg == "--mirror-max-clients") {
      m.options.max_clients = static_cast<std::size_t>(parse_count(arg, value()));
    } else if (arg == "--mirror-max-store-bytes") {
      m.options.max_store_bytes = parse_count(arg, value());
    } else if (arg == "--mirror-flight-buffer") {
      m.options.max_flight_buffer_bytes = parse_count(arg, value());
    } else if (arg == "--registry-config") {
      m.registry_config = std::string(value());
    } else if (arg == "--ca-file") {
      m.ca_file = std::string(value());
    } else if (arg == "--stall-blob-gets") {
      auto v = std::string(value());
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
        throw usage_error{"--stall-blob-gets needs milliseconds"};
      stall = std::chrono::milliseconds(std::stoul(v));
    } else {
      throw usage_error{"unknown option \"" + std::string(arg) + "\""};
    }
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    throw usage_error{"--tls-cert and --tls-key go together"};
  if (m.options.upstream.empty() &&
      (!m.registry_config.empty() || !m.ca_file.empty() || m.options.allow_push))
    throw usage_error{"--registry-config, --ca-file and --mirror-allow-push go with --mirror"};
  return o;
}

}  // namespace

int serve(std::span<const std::string_view> args) {
  server::registry_options options;
  bool help = false;
  std::chrono::milliseconds stall{0};
  mirror_request mirror_req;
  try {
    options = parse(args, help, stall, mirror_req);
  } catch (const usage_error& e) {
    std::cerr << "coras serve: " << e.message << "\n\n" << serve_usage;
    return 2;
  }
  if (help) {
    std::cout << serve_usage;
    return 0;
  }
  try {
    boost::asio::io_context ioc(1);
    if (!mirror_req.options.upstream.empty()) {
      // The composition root of a mirror: the upstream client gets the CLI's
      // credentials (docker config and its helpers) and TLS settings.
      http::client_options co;
      co.auth = auth::make_authorizer(auth::docker_config_credentials(
          mirror_req.registry_config.empty() ? auth::default_docker_config_path()
                                             : std::filesystem::path(mirror_req.registry_config)));
      co.tls.ca_file = mirror_req.ca_file;
      co.single_threaded = true;  // `ioc` is run by this thread alone (below)
      mirror::attach(options, http::client(ioc.get_executor(), co), mirror_req.options);
    }
    // Moved, not copied: the mirror's upstream client (and its pooled
    // sockets) must be gone before `ioc` is (ASan: a use after free at exit).
    server::registry reg(ioc.get_executor(), std::move(options));
    reg.start();
    if (stall.count() > 0) {
      server::delay_fault f;
      f.mid_body = stall;
      f.path_contains = "/blobs/";
      f.count = std::numeric_limits<unsigned>::max();
      reg.inject_delay(f);
    }
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      reg.stop();
      ioc.stop();
    });
    if (!mirror_req.options.upstream.empty())
      std::cerr << "mirror of " << mirror_req.options.upstream << '\n';
    std::cout << "listening on " << reg.url() << std::endl;  // flushed: scripts wait for it
    ioc.run();
  } catch (const std::exception& e) {
    std::cerr << "coras serve: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace coras::cli

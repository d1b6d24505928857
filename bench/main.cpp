// coras-bench: what the library costs, measured end to end on a real registry.
//
//   coras-bench [transfer|push|pull|resolve|all|http] [options]   (--help for the list)
//
// By default it starts the embedded registry (coras::server::registry) in this
// process, on 127.0.0.1, on its own io_context thread, storing into a
// temporary directory; --registry HOST[:PORT] measures another registry.
//
// - push:     K random (incompressible) blobs of S bytes at concurrency C. Bodies are
//             generated while they are sent (a seeded PRNG, digests computed before the
//             clock starts), so neither side holds K*S bytes.
// - pull:     the same blobs back at concurrency C, streamed through `blob_reader`
//             into a fixed buffer and verified against their digests.
// - resolve:  N resolves (HEAD of a manifest by tag) at concurrency C: requests/s and
//             latency percentiles. --method GET fetches the manifest instead (verified).
// - http:     N raw requests to one URL through `http::client` (what bench/http-head.sh
//             compares with wrk).
//
// Each phase reports wall time, MiB/s or requests/s, HTTP exchanges, connections
// opened and TLS handshakes (from a fresh `http::client`'s stats()), client CPU
// seconds (getrusage, minus the embedded registry's thread), the registry
// thread's CPU (embedded only), and the peak RSS of the process during the phase.
//
// The parts are listed in bench.hpp; this file parses the arguments, sets up
// the target (starting the embedded registry), guards the run with the
// --time-limit watchdog and prints the results.
#include "bench.hpp"
#include "embedded_registry.hpp"

#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace coras::bench_tool {
namespace {

const char* const usage_text = R"(usage: coras-bench [COMMAND] [options]

commands:
  transfer   push K blobs of S bytes, then pull them back (default)
  push       push K blobs of S bytes
  pull       push them (not timed), then pull them back, each verified
  resolve    resolve one tag N times (HEAD with the manifest Accept list)
  all        transfer, then resolve
  http URL   N requests to URL through the HTTP client, certificates not
             checked (bench/http-head.sh)
  sweep      pulls over a grid (concurrency x blob size x ranges x plain/TLS)
             into a CSV and an SVG chart (`coras-bench sweep --help`)
  layout     how long an OCI layout's file work holds up the caller's thread,
             inline and on a work executor (`coras-bench layout --help`)
  floor URL  the same manifest GET on Boost.Asio and Beast alone, without
             coras: the stack's own cost (`coras-bench floor --help`)

target (default: the embedded registry, in this process on 127.0.0.1,
storing into a temporary directory):
  --tls                 embedded registry over HTTPS (a self-signed certificate
                        made with the openssl command)
  --memory              embedded registry keeps content in memory
  --registry HOST[:PORT]
                        another registry; with --plain-http, --ca-file FILE,
                        --insecure, -u USER -p PASS
  --repo NAME           repository (default: coras-bench/blobs-<random> for
                        transfers, coras-bench/resolve for resolve)

job:
  --count K             blobs (default 32)
  --size S              bytes per blob, K/M/G suffixes in powers of 1024 (default 4M)
  --concurrency C       operations in flight (default 8; 64 for resolve and http)
  --requests N          resolve/http requests (default 10000)
  --method M            resolve: HEAD (default) or GET (fetch the manifest);
                        http: the request method (default HEAD)
  --connections N       resolve/http: connections allowed (default: the concurrency)
  --threads N           client io_context threads (default 2); with 1 the client
                        is made single_threaded (no strand: one thread runs it)
  --strand              keep the client's strand with --threads 1
  --time-limit SECONDS  give up after this long (default 300)
  --json                one JSON document on stdout instead of the table
  -h, --help            this text
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

// Declared in bench.hpp (sweep.cpp parses sizes too).
std::uint64_t parse_size(const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    throw usage_error("bad size: " + text);
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();
  std::uint64_t scale = 1;
  if (unit == "k" || unit == "K")
    scale = 1ull << 10;
  else if (unit == "m" || unit == "M")
    scale = 1ull << 20;
  else if (unit == "g" || unit == "G")
    scale = 1ull << 30;
  else if (!unit.empty())
    throw usage_error("bad size: " + text);
  return n * scale;
}

namespace {

std::size_t parse_count(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || n == 0) throw usage_error(name + " needs a positive number");
  return static_cast<std::size_t>(n);
}

settings parse_args(int argc, char** argv) {
  settings s;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool command_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << usage_text;
      std::exit(0);
    } else if (a == "--registry") {
      s.registry = value();
    } else if (a == "--plain-http") {
      s.plain_http = true;
    } else if (a == "--ca-file") {
      s.ca_file = value();
    } else if (a == "--insecure") {
      s.insecure = true;
    } else if (a == "-u" || a == "--username") {
      s.username = value();
    } else if (a == "-p" || a == "--password") {
      s.password = value();
    } else if (a == "--tls") {
      s.tls = true;
    } else if (a == "--memory") {
      s.memory = true;
    } else if (a == "--repo") {
      s.repo = value();
    } else if (a == "--count") {
      s.count = parse_count(a, value());
    } else if (a == "--size") {
      s.size = parse_size(value());
      if (s.size == 0) throw usage_error("--size must be above 0");
    } else if (a == "--concurrency") {
      s.concurrency = parse_count(a, value());
    } else if (a == "--requests") {
      s.requests = parse_count(a, value());
    } else if (a == "--method") {
      s.method = value();
      for (auto& c : s.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (a == "--connections") {
      s.connections = parse_count(a, value());
    } else if (a == "--threads") {
      s.threads = static_cast<unsigned>(parse_count(a, value()));
    } else if (a == "--strand") {
      s.strand = true;
    } else if (a == "--time-limit") {
      s.time_limit = static_cast<unsigned>(parse_count(a, value()));
    } else if (a == "--json") {
      s.json = true;
    } else if (!a.empty() && a[0] != '-' && !command_seen) {
      static const std::vector<std::string> commands{"transfer", "push", "pull",
                                                     "resolve",  "all",  "http"};
      if (std::find(commands.begin(), commands.end(), a) == commands.end())
        throw usage_error("unknown command: " + a);
      s.command = a;
      command_seen = true;
    } else if (!a.empty() && a[0] != '-' && s.command == "http" && s.url.empty()) {
      s.url = a;
    } else {
      throw usage_error("unknown argument: " + a);
    }
  }
  // Transfers default to 8 in flight, small requests to 64 (`all` uses both).
  s.resolve_concurrency = s.concurrency ? s.concurrency : 64;
  if (s.concurrency == 0) s.concurrency = s.command == "http" ? 64 : 8;
  if (s.command == "http") {
    if (s.url.empty()) throw usage_error("http needs a URL");
    if (s.method.empty()) s.method = "HEAD";
  } else {
    if (s.method.empty()) s.method = "HEAD";
    if (s.method != "HEAD" && s.method != "GET") throw usage_error("--method is HEAD or GET");
  }
  if (s.registry.empty() && (s.plain_http || !s.ca_file.empty() || s.insecure))
    throw usage_error("--plain-http, --ca-file and --insecure go with --registry");
  if (!s.registry.empty() && (s.tls || s.memory))
    throw usage_error("--tls and --memory are for the embedded registry");
  if (s.username.empty() != s.password.empty()) throw usage_error("-u and -p go together");
  return s;
}

// Ends the process when the whole run takes longer than --time-limit.
class watchdog {
 public:
  watchdog(unsigned seconds, const fs::path* dir) {
    thread_ = std::thread([this, seconds, dir] {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) return;
      std::fprintf(stderr, "coras-bench: error: still running after %u s (--time-limit)\n",
                   seconds);
      if (dir) {
        std::error_code ec;
        fs::remove_all(*dir, ec);
      }
      std::_Exit(3);
    });
  }
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

int run(const settings& s) {
  std::optional<temp_dir> dir;
  std::unique_ptr<embedded_registry> embedded;
  target t;
  if (s.command == "http") {
    t.description = s.url;
    // The credential goes to the URL's host[:port].
    auto start = s.url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    t.host = s.url.substr(start, s.url.find('/', start) - start);
  } else if (s.registry.empty()) {
    dir.emplace();
    embedded = std::make_unique<embedded_registry>(s, dir->path);
    t.host = embedded->host();
    t.plain_http = !s.tls;
    if (s.tls) t.http.tls.ca_file = embedded->cert().string();
    t.description = "embedded registry " + embedded->url() + (s.memory ? " (memory)" : " (disk)");
  } else {
    t.host = s.registry;
    t.plain_http = s.plain_http;
    t.description = std::string(s.plain_http ? "http://" : "https://") + s.registry;
  }
  if (!s.ca_file.empty()) t.http.tls.ca_file = s.ca_file;
  // http: a throw-away certificate is the usual peer (as bench/http-head.sh runs it).
  t.http.tls.insecure_skip_verify = s.insecure || s.command == "http";
  if (!s.username.empty()) {
    auth::credential login;
    login.username = s.username;
    login.password = s.password;
    t.http.auth = auth::make_authorizer(auth::static_credentials(t.host, login));
  }

  watchdog guard(s.time_limit, dir ? &dir->path : nullptr);
  const auto results = run_phases(s, t, embedded.get());
  if (s.json)
    print_json(s, t, results);
  else
    print_table(s, t, results);
  return 0;
}

}  // namespace
}  // namespace coras::bench_tool

int main(int argc, char** argv) {
  using namespace coras::bench_tool;
  // The commands with arguments of their own (sweep.cpp, layout_stall.cpp,
  // stack_floor.cpp): everything after the command's word goes to them.
  struct own_arguments {
    std::string_view name;
    int (*run)(const std::vector<std::string>&);
  };
  for (const auto& command :
       {own_arguments{"sweep", run_sweep}, own_arguments{"layout", run_layout_stall},
        own_arguments{"floor", run_stack_floor}}) {
    if (argc < 2 || argv[1] != command.name) continue;
    try {
      return command.run(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::cerr << "coras-bench " << command.name << ": error: " << e.what() << '\n';
      return 1;
    }
  }
  settings s;
  try {
    s = parse_args(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "coras-bench: " << e.what() << "\n" << usage_text;
    return 2;
  }
  try {
    return run(s);
  } catch (const std::exception& e) {
    std::cerr << "coras-bench: error: " << e.what() << '\n';
    return 1;
  }
}

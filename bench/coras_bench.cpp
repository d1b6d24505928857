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
#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/byte_source.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

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
  --threads N           client io_context threads (default 2)
  --time-limit SECONDS  give up after this long (default 300)
  --json                one JSON document on stdout instead of the table
  -h, --help            this text
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct settings {
  std::string command = "transfer";
  std::string url;  // http
  std::string registry;
  bool plain_http = false;
  std::string ca_file;
  bool insecure = false;
  std::string username, password;
  bool tls = false;
  bool memory = false;
  std::string repo;
  std::size_t count = 32;
  std::uint64_t size = 4 << 20;
  std::size_t concurrency = 0;  // 0: the command's default
  std::size_t resolve_concurrency = 0;
  std::size_t requests = 10000;
  std::string method;
  std::size_t connections = 0;
  unsigned threads = 2;
  unsigned time_limit = 300;
  bool json = false;
};

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

// ---- generated content ----

// xoshiro256** seeded through splitmix64: fast, and incompressible enough
// for any compressor on the path.
struct xoshiro {
  std::uint64_t s[4];
  explicit xoshiro(std::uint64_t seed) {
    for (auto& w : s) {
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

constexpr std::size_t block_size = 64 * 1024;
// Manifests and small answers read whole.
constexpr std::uint64_t metadata_limit = 1 << 20;

// Block `index` of the content named by `seed`: depends on nothing else, so a
// body can be generated twice (digest first, then while it is sent) and
// rewound for a retry.
void generate_block(std::uint64_t seed, std::uint64_t index, std::byte* out) {
  xoshiro rng(seed ^ (index * 0xd1b54a32d192ed03ull));
  for (std::size_t i = 0; i < block_size; i += 8) {
    const std::uint64_t v = rng.next();
    std::memcpy(out + i, &v, 8);
  }
}

digest digest_of_generated(std::uint64_t seed, std::uint64_t size) {
  std::vector<std::byte> block(block_size);
  digester d;
  for (std::uint64_t off = 0, index = 0; off < size; off += block_size, ++index) {
    generate_block(seed, index, block.data());
    d.update(std::span<const std::byte>(
        block.data(), static_cast<std::size_t>(std::min<std::uint64_t>(block_size, size - off))));
  }
  return d.finish();
}

// A request body generated as it is sent.
class generated_body final : public byte_source {
 public:
  generated_body(std::uint64_t seed, std::uint64_t size)
      : seed_(seed), size_(size), block_(block_size) {}

  std::optional<std::uint64_t> size() const override { return size_; }

  asio::awaitable<std::size_t> read(asio::mutable_buffer buffer) override {
    co_return fill(buffer);
  }

  bool rewind() override {
    offset_ = 0;
    return true;
  }

 private:
  std::size_t fill(asio::mutable_buffer buffer) {
    auto* out = static_cast<std::byte*>(buffer.data());
    std::size_t done = 0;
    while (done < buffer.size() && offset_ < size_) {
      const std::uint64_t index = offset_ / block_size;
      if (index != block_index_) {
        generate_block(seed_, index, block_.data());
        block_index_ = index;
      }
      const std::size_t in_block = static_cast<std::size_t>(offset_ % block_size);
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>({block_size - in_block, buffer.size() - done, size_ - offset_}));
      std::memcpy(out + done, block_.data() + in_block, n);
      done += n;
      offset_ += n;
    }
    return done;
  }

  std::uint64_t seed_;
  std::uint64_t size_;
  std::uint64_t offset_ = 0;
  std::vector<std::byte> block_;
  std::uint64_t block_index_ = ~std::uint64_t{0};
};

// ---- measurements ----

double cpu_seconds_of(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// Peak RSS per phase: Linux resets the high-water mark on "5" > clear_refs
// and reports it as VmHWM; elsewhere, ru_maxrss (the process's lifetime peak).
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

double peak_rss_mib(bool per_phase) {
  if (per_phase) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

struct phase_result {
  std::string name;
  std::size_t items = 0;    // blobs or requests
  std::uint64_t bytes = 0;  // body bytes moved (transfers)
  std::size_t concurrency = 0;
  double wall_s = 0;
  http::client_stats http;
  double client_cpu_s = 0;
  std::optional<double> server_cpu_s;
  double peak_rss_mib = 0;
  std::vector<double> latencies_ms;  // sorted; resolve and http only
  std::string note;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

// ---- the embedded registry ----

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "coras-bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

class embedded_registry {
 public:
  embedded_registry(const settings& s, const fs::path& dir) {
    server::registry_options o;  // 127.0.0.1, a free port, no auth
    if (!s.memory) o.root = dir / "root";
    if (s.tls) {
      cert_ = dir / "cert.pem";
      const fs::path key = dir / "key.pem";
      const std::string cmd =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
          "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
          key.string() + "' -out '" + cert_.string() + "' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("could not make a certificate with the openssl command");
      o.tls_cert_file = cert_;
      o.tls_key_file = key;
    }
    registry_.emplace(ioc_.get_executor(), o);
    registry_->start();
    thread_ = std::thread([this] { ioc_.run(); });
    pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_);
  }
  ~embedded_registry() {
    registry_->stop();
    thread_.join();
  }
  embedded_registry(const embedded_registry&) = delete;
  embedded_registry& operator=(const embedded_registry&) = delete;

  std::string host() const { return registry_->host(); }
  std::string url() const { return registry_->url(); }
  const fs::path& cert() const { return cert_; }
  double cpu_seconds() const { return cpu_seconds_of(cpu_clock_); }
  server::registry_stats stats() const { return registry_->stats(); }

 private:
  asio::io_context ioc_{1};
  std::optional<server::registry> registry_;
  std::thread thread_;
  clockid_t cpu_clock_{};
  fs::path cert_;
};

// ---- the bench ----

struct target {
  std::string host;  // what goes into references
  std::string description;
  bool plain_http = false;
  http::client_options http;
};

// Runs job(worker, i) for i in [0, n) with at most `concurrency` in flight;
// the first failure (in completion order) is rethrown once every worker ended.
using job_fn = std::function<asio::awaitable<void>(std::size_t worker, std::size_t index)>;

asio::awaitable<void> for_each_parallel(std::size_t n, std::size_t concurrency, const job_fn& job) {
  auto ex = co_await asio::this_coro::executor;
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t w) -> asio::awaitable<void> {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) break;
      co_await job(w, i);
    }
  };
  using op_type = decltype(asio::co_spawn(ex, worker(0), asio::deferred));
  std::vector<op_type> ops;
  const std::size_t workers = std::min(n, concurrency);
  for (std::size_t w = 0; w < workers; ++w)
    ops.push_back(asio::co_spawn(ex, worker(w), asio::deferred));
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (std::size_t k : order)
    if (errors[k]) std::rethrow_exception(errors[k]);
}

[[noreturn]] void fail(const std::string& what, const error_code& ec, const diagnostics& d) {
  throw std::runtime_error(what + ": " + (d.message().empty() ? ec.message() : d.message()));
}

class bench {
 public:
  bench(const settings& s, target t, const embedded_registry* embedded)
      : s_(s), target_(std::move(t)), embedded_(embedded) {}

  std::vector<phase_result> results;

  asio::awaitable<void> run() {
    const std::string& c = s_.command;
    if (c == "http") {
      co_await http_phase();
      co_return;
    }
    if (c == "transfer" || c == "push" || c == "pull" || c == "all") {
      make_blobs();
      co_await push_phase(c != "pull");
      if (c != "push") co_await pull_phase();
    }
    if (c == "resolve" || c == "all") {
      co_await resolve_setup();
      co_await resolve_phase();
    }
  }

 private:
  struct phase_clock {
    clock_type::time_point t0 = clock_type::now();
    double cpu0 = process_cpu_seconds();
    double server0 = 0;
    bool per_phase_rss = reset_peak_rss();
  };

  phase_clock start_clock() const {
    phase_clock c;
    if (embedded_) c.server0 = embedded_->cpu_seconds();
    return c;
  }

  void finish(phase_result& r, const phase_clock& c, const http::client& client) {
    r.wall_s = std::chrono::duration<double>(clock_type::now() - c.t0).count();
    const double cpu = process_cpu_seconds() - c.cpu0;
    if (embedded_) {
      const double server = embedded_->cpu_seconds() - c.server0;
      r.server_cpu_s = server;
      r.client_cpu_s = std::max(0.0, cpu - server);
    } else {
      r.client_cpu_s = cpu;
    }
    r.peak_rss_mib = peak_rss_mib(c.per_phase_rss);
    if (!c.per_phase_rss) r.note = "peak RSS is the process's lifetime peak";
    r.http = client.stats();
    results.push_back(std::move(r));
  }

  http::client make_client(std::size_t connections) {
    auto o = target_.http;
    o.max_connections_per_origin = connections;
    return http::client(ex_, o);
  }

  remote::repository make_repo(const http::client& client, const std::string& name) {
    remote::repository_options o;
    o.plain_http = target_.plain_http;
    return remote::repository(client, target_.host + "/" + name, o);
  }

  std::string blob_repo() {
    if (!s_.repo.empty()) return s_.repo;
    if (blob_repo_.empty()) {
      std::random_device rd;
      char tag[17];
      std::snprintf(tag, sizeof tag, "%08x%08x", rd(), rd());
      blob_repo_ = std::string("coras-bench/blobs-") + tag;
    }
    return blob_repo_;
  }

  // Seeds and digests of the blobs, before any clock starts (hashed on
  // --threads threads).
  void make_blobs() {
    std::random_device rd;
    seeds_.resize(s_.count);
    for (auto& seed : seeds_) seed = (std::uint64_t{rd()} << 32) ^ rd();
    blobs_.assign(s_.count, descriptor{});
    std::atomic<std::size_t> next{0};
    auto hash = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < s_.count;) {
        blobs_[i].media_type = std::string(media_type::oci_layer);
        blobs_[i].digest = digest_of_generated(seeds_[i], s_.size);
        blobs_[i].size = static_cast<std::int64_t>(s_.size);
      }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < s_.threads; ++t) threads.emplace_back(hash);
    hash();
    for (auto& t : threads) t.join();
  }

  asio::awaitable<void> push_phase(bool timed) {
    auto client = make_client(s_.concurrency);
    auto repo = make_repo(client, blob_repo());
    job_fn job = [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
      auto body = std::make_shared<generated_body>(seeds_[i], s_.size);
      diagnostics d;
      auto [ec] = co_await repo.async_push(blobs_[i], body, d, asio::as_tuple(asio::deferred));
      if (ec) fail("push " + blobs_[i].digest.str(), ec, d);
    };
    phase_result r;  // reported only when timed (`pull` pushes its blobs first)
    r.name = "push";
    r.items = s_.count;
    r.bytes = s_.count * s_.size;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.count, s_.concurrency, job);
    if (timed) finish(r, c, client);
  }

  asio::awaitable<void> pull_phase() {
    auto client = make_client(s_.concurrency);
    auto repo = make_repo(client, blob_repo());
    // Small blobs come whole (verified before they are handed out); larger ones
    // stream through one buffer per worker, verified by the read that ends them.
    constexpr std::uint64_t whole_limit = 1 << 20;
    constexpr std::size_t buffer_size = 256 * 1024;
    std::vector<std::vector<char>> buffers(std::min(s_.count, s_.concurrency));
    std::atomic<std::uint64_t> received{0};
    job_fn job = [&](std::size_t w, std::size_t i) -> asio::awaitable<void> {
      diagnostics d;
      if (s_.size <= whole_limit) {
        auto [ec, bytes] =
            co_await repo.async_fetch_bytes(blobs_[i], d, asio::as_tuple(asio::deferred));
        if (ec) fail("pull " + blobs_[i].digest.str(), ec, d);
        received += bytes.size();
        co_return;
      }
      auto [ec, reader] = co_await repo.async_fetch(blobs_[i], d, asio::as_tuple(asio::deferred));
      if (ec) fail("pull " + blobs_[i].digest.str(), ec, d);
      auto& buffer = buffers[w];
      buffer.resize(buffer_size);
      for (;;) {
        auto [rec, n] =
            co_await reader.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::deferred));
        received += n;
        if (rec == asio::error::eof) break;
        if (rec) fail("pull " + blobs_[i].digest.str(), rec, reader.diag());
      }
    };
    phase_result r;
    r.name = "pull";
    r.items = s_.count;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.count, s_.concurrency, job);
    r.bytes = received.load();
    if (r.bytes != s_.count * s_.size) throw std::runtime_error("pull: byte count differs");
    finish(r, c, client);
  }

  std::string resolve_repo() const { return s_.repo.empty() ? "coras-bench/resolve" : s_.repo; }

  // One manifest under the tag "bench": the empty config and one 1 KiB layer
  // of fixed content, so every run pushes the same digest.
  asio::awaitable<void> resolve_setup() {
    auto client = make_client(2);
    auto repo = make_repo(client, resolve_repo());
    std::string layer(1024, '\0');
    {
      std::vector<std::byte> block(block_size);
      generate_block(0x636f726173ull, 0, block.data());
      std::memcpy(layer.data(), block.data(), layer.size());
    }
    diagnostics d;
    auto [ec1, layer_desc] = co_await repo.async_push_bytes(
        std::string(media_type::oci_layer), layer, d, asio::as_tuple(asio::deferred));
    if (ec1) fail("resolve setup: push layer", ec1, d);
    auto [ec2, config_desc] =
        co_await repo.async_push_bytes(std::string(media_type::oci_empty), std::string(empty_json),
                                       d, asio::as_tuple(asio::deferred));
    if (ec2) fail("resolve setup: push config", ec2, d);
    image_manifest m;
    m.media_type = std::string(media_type::oci_manifest);
    m.config = config_desc;
    m.layers.push_back(layer_desc);
    const std::string doc = m.to_json();
    manifest_ = descriptor::for_content(media_type::oci_manifest, doc);
    auto body = memory_source(doc);
    auto [ec3] = co_await repo.async_push_reference(manifest_, body, std::string("bench"), d,
                                                    asio::as_tuple(asio::deferred));
    if (ec3) fail("resolve setup: push manifest", ec3, d);
  }

  asio::awaitable<void> resolve_phase() {
    const std::size_t concurrency = s_.resolve_concurrency;
    auto client = make_client(s_.connections ? s_.connections : concurrency);
    auto repo = make_repo(client, resolve_repo());
    const bool get = s_.method == "GET";
    std::vector<std::vector<double>> latencies(std::min(s_.requests, concurrency));
    job_fn job = [&](std::size_t w, std::size_t) -> asio::awaitable<void> {
      diagnostics d;
      const auto t0 = clock_type::now();
      if (get) {
        auto [ec, f] = co_await repo.async_fetch_reference(std::string("bench"), d,
                                                           asio::as_tuple(asio::deferred));
        if (ec) fail("fetch manifest", ec, d);
        auto [rec, doc] =
            co_await f.body.async_read_all(metadata_limit, asio::as_tuple(asio::deferred));
        if (rec) fail("fetch manifest", rec, f.body.diag());
        if (f.desc.digest != manifest_.digest) throw std::runtime_error("fetched another manifest");
      } else {
        auto [ec, desc] =
            co_await repo.async_resolve(std::string("bench"), d, asio::as_tuple(asio::deferred));
        if (ec) fail("resolve", ec, d);
        if (desc.digest != manifest_.digest) throw std::runtime_error("resolved another digest");
      }
      latencies[w].push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    phase_result r;
    r.name = get ? "resolve GET" : "resolve";
    r.items = s_.requests;
    r.concurrency = concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.requests, concurrency, job);
    for (auto& l : latencies) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    finish(r, c, client);
  }

  asio::awaitable<void> http_phase() {
    auto client = make_client(s_.connections ? s_.connections : s_.concurrency);
    std::vector<std::vector<double>> latencies(std::min(s_.requests, s_.concurrency));
    std::atomic<std::size_t> not_ok{0};
    job_fn job = [&](std::size_t w, std::size_t) -> asio::awaitable<void> {
      http::request req;
      req.method = s_.method;
      req.url = s_.url;
      const auto t0 = clock_type::now();
      auto [ec, resp] = co_await client.async_send(req, asio::as_tuple(asio::deferred));
      if (ec) throw std::runtime_error(s_.method + " " + s_.url + ": " + ec.message());
      if (resp.status() < 200 || resp.status() > 299) ++not_ok;
      if (!resp.body_done()) {
        auto [rec, body] =
            co_await resp.async_read_all(metadata_limit, asio::as_tuple(asio::deferred));
        if (rec) throw std::runtime_error(s_.method + " " + s_.url + ": " + rec.message());
      }
      latencies[w].push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    phase_result r;
    r.name = "http " + s_.method;
    r.items = s_.requests;
    r.concurrency = s_.concurrency;
    auto c = start_clock();
    co_await for_each_parallel(s_.requests, s_.concurrency, job);
    for (auto& l : latencies) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    const std::string note = std::to_string(not_ok.load()) + " answers were not 2xx";
    if (not_ok) r.note = note;
    finish(r, c, client);
    if (not_ok) throw std::runtime_error(note);
  }

 public:
  void set_executor(asio::any_io_executor ex) { ex_ = std::move(ex); }

 private:
  const settings& s_;
  target target_;
  const embedded_registry* embedded_;
  asio::any_io_executor ex_;
  std::vector<std::uint64_t> seeds_;
  std::vector<descriptor> blobs_;
  std::string blob_repo_;
  descriptor manifest_;
};

// ---- output ----

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string size_text(std::uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30) && n % (1ull << 30) == 0)
    std::snprintf(buf, sizeof buf, "%lluG", static_cast<unsigned long long>(n >> 30));
  else if (n >= (1ull << 20) && n % (1ull << 20) == 0)
    std::snprintf(buf, sizeof buf, "%lluM", static_cast<unsigned long long>(n >> 20));
  else if (n >= (1ull << 10) && n % (1ull << 10) == 0)
    std::snprintf(buf, sizeof buf, "%lluK", static_cast<unsigned long long>(n >> 10));
  else
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  return buf;
}

void print_table(const settings& s, const target& t, const std::vector<phase_result>& results) {
  std::printf("coras-bench: %s, %u client thread%s\n", t.description.c_str(), s.threads,
              s.threads == 1 ? "" : "s");
  std::printf("%-12s %-12s %4s %8s %9s %9s %8s %6s %5s %8s %8s %9s\n", "phase", "job", "conc",
              "wall s", "MiB/s", "req/s", "requests", "conns", "TLS", "cli CPU", "srv CPU",
              "peak RSS");
  for (const auto& r : results) {
    std::string job;
    char mibs[32] = "-";
    if (r.bytes) {
      job =
          std::to_string(r.items) + " x " + size_text(r.bytes / std::max<std::size_t>(r.items, 1));
      std::snprintf(mibs, sizeof mibs, "%.0f", mib(r.bytes) / r.wall_s);
    } else {
      job = std::to_string(r.items) + " req";
    }
    char srv[32] = "-";
    if (r.server_cpu_s) std::snprintf(srv, sizeof srv, "%.2f", *r.server_cpu_s);
    std::printf("%-12s %-12s %4zu %8.2f %9s %9.0f %8llu %6llu %5llu %8.2f %8s %6.1f MiB\n",
                r.name.c_str(), job.c_str(), r.concurrency, r.wall_s, mibs,
                static_cast<double>(r.http.requests) / r.wall_s,
                static_cast<unsigned long long>(r.http.requests),
                static_cast<unsigned long long>(r.http.connections_opened),
                static_cast<unsigned long long>(r.http.tls_handshakes), r.client_cpu_s, srv,
                r.peak_rss_mib);
  }
  for (const auto& r : results) {
    if (!r.latencies_ms.empty())
      std::printf("%s latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.name.c_str(),
                  percentile(r.latencies_ms, 50), percentile(r.latencies_ms, 90),
                  percentile(r.latencies_ms, 99), r.latencies_ms.back());
    if (!r.note.empty()) std::printf("%s: %s\n", r.name.c_str(), r.note.c_str());
  }
}

void print_json(const settings& s, const target& t, const std::vector<phase_result>& results) {
  json::object doc;
  doc["command"] = s.command;
  doc["target"] = t.description;
  doc["registry"] = t.host;
  doc["embedded"] = s.registry.empty() && s.command != "http";
  doc["threads"] = s.threads;
  json::array phases;
  for (const auto& r : results) {
    json::object p;
    p["name"] = r.name;
    p["items"] = r.items;
    if (r.bytes) {
      p["bytes"] = r.bytes;
      p["blob_size"] = r.bytes / std::max<std::size_t>(r.items, 1);
      p["mib_per_s"] = mib(r.bytes) / r.wall_s;
    }
    p["concurrency"] = r.concurrency;
    p["wall_s"] = r.wall_s;
    p["requests"] = r.http.requests;
    p["requests_per_s"] = static_cast<double>(r.http.requests) / r.wall_s;
    p["connections_opened"] = r.http.connections_opened;
    p["connections_reused"] = r.http.connections_reused;
    p["tls_handshakes"] = r.http.tls_handshakes;
    p["tls_resumed"] = r.http.tls_resumed;
    p["client_cpu_s"] = r.client_cpu_s;
    if (r.server_cpu_s) p["server_cpu_s"] = *r.server_cpu_s;
    p["peak_rss_mib"] = r.peak_rss_mib;
    if (!r.latencies_ms.empty()) {
      json::object l;
      l["p50"] = percentile(r.latencies_ms, 50);
      l["p90"] = percentile(r.latencies_ms, 90);
      l["p99"] = percentile(r.latencies_ms, 99);
      l["max"] = r.latencies_ms.back();
      p["latency_ms"] = std::move(l);
    }
    if (!r.note.empty()) p["note"] = r.note;
    phases.push_back(std::move(p));
  }
  doc["phases"] = std::move(phases);
  std::cout << json::serialize(doc) << '\n';
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
    t.http.auth = coras::auth::make_authorizer(auth::static_credentials(t.host, login));
  }

  watchdog guard(s.time_limit, dir ? &dir->path : nullptr);
  asio::io_context ioc(static_cast<int>(s.threads));
  bench b(s, t, embedded.get());
  b.set_executor(ioc.get_executor());
  std::exception_ptr failure;
  asio::co_spawn(ioc, b.run(), [&](std::exception_ptr e) { failure = e; });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& th : threads) th.join();
  if (failure) std::rethrow_exception(failure);
  if (s.json)
    print_json(s, t, b.results);
  else
    print_table(s, t, b.results);
  return 0;
}

}  // namespace
}  // namespace coras::bench_tool

int main(int argc, char** argv) {
  using namespace coras::bench_tool;
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

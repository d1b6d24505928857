// coras-soak: a chaos soak of the SDK's transfer paths. Workers push images
// (config, layers, manifest, tag) to the embedded registry, pull them back
// (resolve, manifest, layers to files and to memory) and delete them, while a
// chaos thread injects random faults into the registry: connections cut
// mid-body (downloads and uploads), 5xx and 429 with Retry-After, stalls
// shorter and longer than the client's timeouts, corrupted bodies, chunked
// bodies, lost upload sessions, TLS handshakes reset after the ClientHello.
// Part of the traffic goes over TLS when
// --certs names a directory made by test/fixtures/make-test-certs.
//
// Every pulled byte is checked independently of coras (OpenSSL SHA-256 of the
// file or the bytes against the digest the worker computed itself). The run
// fails (exit 1) when a corrupt blob was written or handed out, an operation
// ran past its deadline, RSS grew more than --rss-slack-mib after warm-up, or
// open file descriptors did not come back to where they started. Operations
// that fail with an error are allowed: a fault may outlast the retries.
//
//   coras-soak [--seconds N] [--concurrency N] [--deadline-seconds N]
//              [--certs DIR] [--seed N] [--rss-slack-mib N]
#include <coras/auth/authorizer.hpp>
#include <coras/auth/credential.hpp>
#include <coras/core/byte_source.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <openssl/evp.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::use_awaitable;
using coras::descriptor;
using coras::remote::repository;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct config {
  double seconds = 60;
  int concurrency = 16;
  std::chrono::seconds deadline{60};
  std::string certs;
  unsigned seed = 1;
  long rss_slack_mib = 8;
};

struct counters {
  std::atomic<std::uint64_t> operations{0}, failed{0}, corrupt{0}, stuck{0}, rounds{0};
  std::atomic<std::uint64_t> bytes_pushed{0}, bytes_pulled{0}, leftover_bytes{0};
  std::atomic<std::uint64_t> faults_asked{0}, sessions_dropped{0};
  std::atomic<std::uint64_t> exchanges{0}, retries{0}, download_resumes{0}, upload_resumes{0};
  std::mutex mutex;
  std::map<std::string, std::uint64_t> errors;  // error kind → count (first words)
};

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

long open_fds() {
  long n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n - 1;  // the iterator's own descriptor
}

// "sha256:<hex>" of `data`, computed with OpenSSL directly (not coras).
std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string read_whole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string random_content(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    auto v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

// Runs `op`; an exception counts as a failed operation (allowed) and is
// classified by its error code.
// An operation that takes longer than `deadline` is stuck.
std::chrono::seconds deadline{90};

asio::awaitable<bool> attempt(counters& c, asio::awaitable<void> op) {
  ++c.operations;
  const auto t0 = steady::now();
  std::exception_ptr failure;
  try {
    co_await std::move(op);
  } catch (...) {
    failure = std::current_exception();
  }
  if (steady::now() - t0 > deadline) ++c.stuck;
  if (!failure) co_return true;
  ++c.failed;
  std::string kind = "unknown";
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    kind = e.code().category().name() + std::string(":") + e.code().message();
  } catch (const std::exception& e) {
    kind = e.what();
  }
  std::lock_guard lock(c.mutex);
  ++c.errors[kind];
  co_return false;
}

asio::awaitable<void> push_blob(repository repo, std::string media_type, std::string content,
                                descriptor& out) {
  out = co_await repo.async_push_bytes(std::move(media_type), std::move(content));
}

asio::awaitable<void> push_manifest(repository repo, descriptor desc, std::string json,
                                    std::string tag) {
  co_await repo.async_push_reference(std::move(desc), coras::memory_source(std::move(json)),
                                     std::move(tag));
}

asio::awaitable<void> resolve(repository repo, std::string tag, descriptor& out) {
  out = co_await repo.async_resolve(std::move(tag));
}

asio::awaitable<void> fetch_bytes(repository repo, descriptor d, std::string& out) {
  out = co_await repo.async_fetch_bytes(std::move(d));
}

asio::awaitable<void> fetch_file(repository repo, descriptor d, fs::path file) {
  co_await repo.async_fetch_to_file(std::move(d), std::move(file));
}

// Deletes `d`; not there (never pushed, or deleted by a try whose answer
// was lost) is success.
asio::awaitable<void> remove(repository repo, descriptor d) {
  auto [ec] = co_await repo.async_delete(std::move(d), asio::as_tuple(use_awaitable));
  if (ec && ec != coras::errc::not_found) throw boost::system::system_error(ec);
}

// One image of a round: its layers' bytes, and the descriptors a push must
// give (computed here, not by the SDK).
struct image {
  std::vector<std::string> contents;
  std::vector<descriptor> layers;
  std::string json;
  descriptor manifest;
  std::string tag;
};

image make_image(std::mt19937_64& rng, int round_no) {
  image im;
  const int n_layers = 1 + static_cast<int>(rng() % 3);
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.config = coras::empty_json_descriptor();
  for (int i = 0; i < n_layers; ++i) {
    // 1 KiB to 1.5 MiB: small ones go up in one PUT, large ones in chunks
    // and come down in parallel ranges.
    im.contents.push_back(random_content(rng, 1024 + rng() % (1536 * 1024)));
    descriptor d;
    d.media_type = "application/vnd.oci.image.layer.v1.tar";
    d.digest = coras::digest::parse(sha256(im.contents.back()));
    d.size = static_cast<std::int64_t>(im.contents.back().size());
    im.layers.push_back(d);
  }
  m.layers = im.layers;
  m.annotations["round"] = std::to_string(round_no);
  im.json = m.to_json();
  im.manifest = descriptor::for_content(coras::media_type::oci_manifest, im.json);
  im.tag = "r" + std::to_string(round_no);
  return im;
}

// Push `im`, pull it back two ways, check every byte; stops at the first
// failed push (the pull would only fail too).
asio::awaitable<void> push_and_pull(repository repo, counters& c, std::mt19937_64& rng,
                                    fs::path dir, const image& im) {
  for (std::size_t i = 0; i < im.layers.size(); ++i) {
    descriptor d;
    if (!co_await attempt(c, push_blob(repo, im.layers[i].media_type, im.contents[i], d)))
      co_return;
    if (d.digest != im.layers[i].digest || d.size != im.layers[i].size) ++c.corrupt;
    c.bytes_pushed += im.contents[i].size();
  }
  {
    descriptor config;
    std::string media_type(coras::media_type::oci_empty);
    std::string empty(coras::empty_json);
    if (!co_await attempt(c, push_blob(repo, media_type, empty, config))) co_return;
  }
  if (!co_await attempt(c, push_manifest(repo, im.manifest, im.json, im.tag))) co_return;

  // Pull: resolve the tag, read the manifest, every layer to a file, one to memory.
  descriptor resolved;
  const bool resolved_ok = co_await attempt(c, resolve(repo, im.tag, resolved));
  if (resolved_ok && resolved.digest != im.manifest.digest) ++c.corrupt;
  std::string got;
  const bool got_ok = co_await attempt(c, fetch_bytes(repo, im.manifest, got));
  if (got_ok && sha256(got) != im.manifest.digest.str()) ++c.corrupt;
  for (std::size_t i = 0; i < im.layers.size(); ++i) {
    auto file = dir / ("layer" + std::to_string(i));
    const bool ok = co_await attempt(c, fetch_file(repo, im.layers[i], file));
    // Whatever the outcome, a file under the final name is the whole blob.
    if (fs::exists(file)) {
      auto bytes = read_whole(file);
      if (sha256(bytes) != im.layers[i].digest.str() || bytes != im.contents[i]) ++c.corrupt;
      c.bytes_pulled += bytes.size();
      fs::remove(file);
    } else if (ok) {
      ++c.corrupt;  // success without the file
    }
  }
  std::string bytes;
  const auto pick = rng() % im.layers.size();
  const bool bytes_ok = co_await attempt(c, fetch_bytes(repo, im.layers[pick], bytes));
  if (bytes_ok) {
    if (sha256(bytes) != im.layers[pick].digest.str() || bytes != im.contents[pick]) ++c.corrupt;
    c.bytes_pulled += bytes.size();
  }
}

// One round: push an image, pull it back, then delete everything it may
// have left (a push that failed may still have landed), so that the
// registry's memory stays flat; what three passes cannot delete is counted.
asio::awaitable<void> round(repository repo, counters& c, std::mt19937_64& rng, fs::path dir,
                            int round_no) {
  const auto im = make_image(rng, round_no);
  co_await push_and_pull(repo, c, rng, dir, im);
  // Leftovers (a partial file of a failed fetch) go too.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);

  std::vector<descriptor> left = im.layers;
  left.insert(left.begin(), im.manifest);
  for (int pass = 0; pass < 3 && !left.empty(); ++pass) {
    std::vector<descriptor> still;
    for (const auto& d : left)
      if (!co_await attempt(c, remove(repo, d))) still.push_back(d);
    left = std::move(still);
  }
  for (const auto& d : left) c.leftover_bytes += static_cast<std::uint64_t>(d.size);
}

asio::awaitable<void> worker(repository repo, counters& c, unsigned seed, fs::path dir,
                             steady::time_point end) {
  std::mt19937_64 rng(seed);
  fs::create_directories(dir);
  for (int i = 0; steady::now() < end; ++i) {
    co_await round(repo, c, rng, dir, i);
    ++c.rounds;
  }
}

// Random faults, a few dozen a second, until `stop`.
void chaos(const std::vector<coras::server::registry*>& registries, counters& c, unsigned seed,
           std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  const char* paths[] = {"/blobs/", "/manifests/", "", "/blobs/uploads/", "/token"};
  while (!stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 40));
    auto& srv = *registries[rng() % registries.size()];
    ++c.faults_asked;
    switch (rng() % 12) {
      case 0: srv.cut_blob_gets(rng() % (768 * 1024), 1); break;
      case 1: srv.cut_uploads(rng() % (512 * 1024), 1); break;
      case 2: srv.inject_status({503, 1, paths[rng() % 5], "", ""}); break;
      case 3: srv.inject_status({429, 1, paths[rng() % 5], "1", ""}); break;
      case 4: srv.inject_status({502, 2, paths[rng() % 5], "", ""}); break;
      case 5:  // a stall the client waits out
        srv.inject_delay({std::chrono::milliseconds(rng() % 800),
                          std::chrono::milliseconds(rng() % 800), 1, paths[rng() % 3]});
        break;
      case 6:  // a stall past the client's body_idle / response_header timeouts
        srv.inject_delay({std::chrono::milliseconds(rng() % 2 ? 0 : 3500),
                          std::chrono::milliseconds(3500), 1, "/blobs/"});
        break;
      case 7: srv.corrupt_blob_gets(1); break;
      case 8: {
        coras::server::header_fault f;
        f.path_contains = "/blobs/";
        f.method = "GET";
        f.unknown_length = true;
        srv.inject_headers(f);
        break;
      }
      case 9:
        if (rng() % 8 == 0) c.sessions_dropped += srv.drop_upload_sessions();
        break;
      case 10:  // taken by the TLS registry only
        srv.reset_tls_handshakes(1);
        break;
      default: srv.inject_status({500, 1, paths[rng() % 5], "", ""}); break;
    }
  }
}

int usage() {
  std::cerr << "usage: coras-soak [--seconds N] [--concurrency N] [--deadline-seconds N] "
               "[--certs DIR] [--seed N] [--rss-slack-mib N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--seconds")
      cfg.seconds = std::stod(v);
    else if (a == "--concurrency")
      cfg.concurrency = std::stoi(v);
    else if (a == "--deadline-seconds")
      cfg.deadline = std::chrono::seconds(std::stoi(v));
    else if (a == "--certs")
      cfg.certs = v;
    else if (a == "--seed")
      cfg.seed = static_cast<unsigned>(std::stoul(v));
    else if (a == "--rss-slack-mib")
      cfg.rss_slack_mib = std::stol(v);
    else
      return usage();
  }
  // Blob-sized buffers come and go all the time; a fixed mmap threshold keeps
  // glibc from moving them into the heap after the first frees (its dynamic
  // threshold), so RSS measures what is held, not fragmentation.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  // Under the test fixture (test/fixtures/with-docker-registry certs).
  if (const char* certs = std::getenv("CORAS_TEST_CERTS"); cfg.certs.empty() && certs && *certs)
    cfg.certs = certs;
  deadline = cfg.deadline;
  counters c;
  const long fds_start = open_fds();

  // The registry: one thread of its own, storage in memory, a token realm;
  // a second registry on the same storage serves TLS when certificates are given.
  auto server_ioc = std::make_unique<asio::io_context>(1);
  coras::server::registry_options ro;
  ro.token_auth = coras::server::credentials{"soak", "s3cret"};
  ro.upload_idle_timeout = 5s;  // sessions abandoned by cut uploads go soon
  ro.body_timeout = 10s;
  auto plain_srv = std::make_unique<coras::server::registry>(server_ioc->get_executor(), ro);
  auto& plain = *plain_srv;
  plain.start();
  std::unique_ptr<coras::server::registry> tls;
  if (!cfg.certs.empty()) {
    auto to = ro;
    to.storage = plain.storage();
    to.tls_cert_file = fs::path(cfg.certs) / "server.crt";
    to.tls_key_file = fs::path(cfg.certs) / "server.key";
    // The certificate names "localhost" only, so the token realm must too:
    // find a free port first, then announce https://localhost:PORT/token.
    {
      coras::server::registry probe(server_ioc->get_executor(), to);
      probe.start();
      to.port = probe.port();
      probe.stop();  // the port is free again when stop() returns
    }
    to.token_realm = "https://localhost:" + std::to_string(to.port) + "/token";
    tls = std::make_unique<coras::server::registry>(server_ioc->get_executor(), to);
    tls->start();
  }
  const bool with_tls = tls != nullptr;
  std::thread server_thread([&] { server_ioc->run(); });
  std::vector<coras::server::registry*> registries{&plain};
  if (tls) registries.push_back(tls.get());

  fs::path dir = fs::temp_directory_path() / ("coras-soak." + std::to_string(::getpid()));
  fs::create_directories(dir);

  std::atomic<bool> stop_chaos{false};
  long rss_start = 0, rss_warm = 0, rss_end = 0;
  std::uint64_t leftover_warm = 0;
  auto t_start = steady::now();
  const auto end = t_start + std::chrono::milliseconds(static_cast<long>(cfg.seconds * 1000));
  {
    asio::io_context ioc(2);
    asio::thread_pool work(1);
    coras::http::client_options co;
    co.max_connections_per_origin = 8;  // fewer than workers: requests queue
    co.work_executor = work.get_executor();
    co.retry.initial_backoff = 50ms;
    co.retry.max_backoff = 1s;
    co.retry.max_retry_after = 2s;
    co.timeouts.connect = 5s;
    co.timeouts.tls_handshake = 5s;
    co.timeouts.response_header = 3s;
    co.timeouts.body_idle = 3s;
    co.tls.ca_file = cfg.certs.empty() ? "" : (fs::path(cfg.certs) / "ca.crt").string();
    co.tls.use_system_trust = false;
    // The same user on both registries (whichever host is asked).
    co.auth = coras::auth::make_authorizer(coras::auth::callback_credentials([](std::string_view) {
      return coras::auth::credential{"soak", "s3cret", "", ""};
    }));
    // Retries and resumes, from the exchanges the client reports (on its
    // strand: one at a time). A repeated method+URL after a failed exchange is
    // a retry, or a resume when it is a 206 blob GET; a status query of an
    // upload session is an upload resume.
    std::set<std::string> failed_before;
    co.on_request = [&](const coras::http::request_event& e) {
      ++c.exchanges;
      const auto key = e.method + " " + e.url;
      const bool failed = e.error || e.status == 429 || e.status >= 500;
      if (failed_before.erase(key)) {
        if (e.method == "GET" && e.status == 206)
          ++c.download_resumes;
        else
          ++c.retries;
      }
      if (e.method == "GET" && e.url.find("/blobs/uploads/") != std::string::npos)
        ++c.upload_resumes;
      if (failed) failed_before.insert(key);
      if (failed_before.size() > 10000) failed_before.clear();
    };
    std::optional<coras::http::client> client(std::in_place, ioc.get_executor(), co);
    coras::remote::repository_options ropt;
    ropt.transfer.chunked_threshold = 256 * 1024;
    ropt.transfer.chunk_size = 192 * 1024;
    ropt.transfer.parallel_threshold = 1024 * 1024;
    ropt.transfer.segment_size = 384 * 1024;
    ropt.transfer.parallel_downloads = 3;
    ropt.transfer.resume_backoff = 50ms;
    auto plain_opts = ropt;
    plain_opts.plain_http = true;

    // The io_context runs on 2 threads until the client is dropped; the
    // workers run in two phases: a warm-up (a fifth of the time, at least
    // 3 s) and the rest. RSS is sampled when each phase has ended and
    // everything is quiet (workers done, the client idle, upload sessions
    // dropped): both samples see the same state, so a difference is growth.
    auto guard = asio::make_work_guard(ioc);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i) runners.emplace_back([&] { ioc.run(); });
    rss_start = rss_kib();
    std::thread chaos_thread([&] { chaos(registries, c, cfg.seed, stop_chaos); });
    auto run_phase = [&](int phase, steady::time_point until) {
      std::vector<std::future<void>> done;
      for (int w = 0; w < cfg.concurrency; ++w) {
        const bool over_tls = tls && w % 2 == 1;
        auto host = over_tls ? "localhost:" + std::to_string(tls->port()) : plain.host();
        repository repo(*client, host + "/soak/w" + std::to_string(w),
                        over_tls ? ropt : plain_opts);
        const auto seed = cfg.seed * 1000 + static_cast<unsigned>(phase * 100 + w);
        done.push_back(asio::co_spawn(ioc, worker(repo, c, seed, dir / std::to_string(w), until),
                                      asio::use_future));
      }
      // Each worker ends its round after `until`; one that has not finished
      // a deadline later is stuck.
      std::size_t unfinished = 0;
      for (auto& f : done)
        if (f.wait_until(until + cfg.deadline) != std::future_status::ready) ++unfinished;
      if (unfinished) {
        std::printf("soak: FAIL: %zu workers stuck: not finished %lld s after the end\n",
                    unfinished, static_cast<long long>(cfg.deadline.count()));
        std::fflush(stdout);
        std::_Exit(1);
      }
      for (auto& f : done) f.get();
    };
    auto quiet_rss = [&] {
      for (auto* r : registries) c.sessions_dropped += r->drop_upload_sessions();
      std::this_thread::sleep_for(200ms);
      return rss_kib();
    };
    const auto warm_end =
        t_start + std::max<steady::duration>(
                      3s, std::chrono::milliseconds(static_cast<long>(cfg.seconds * 200)));
    run_phase(0, std::min(warm_end, end));
    rss_warm = quiet_rss();
    leftover_warm = c.leftover_bytes;
    run_phase(1, end);
    rss_end = quiet_rss();
    stop_chaos = true;
    chaos_thread.join();
    // The pool's idle connections would keep the io_context busy until they
    // expire: drop the client, then stop.
    client.reset();
    guard.reset();
    ioc.stop();
    for (auto& t : runners) t.join();
  }
  plain.clear_faults();
  if (tls) tls->clear_faults();
  auto stats = plain.stats();
  auto faults = stats.faults_injected + (tls ? tls->stats().faults_injected : 0);
  plain.stop();
  if (tls) tls->stop();
  server_thread.join();
  // Everything the run created is gone now (client, pool, registries and
  // their io_contexts): the descriptors must be back to where they started.
  tls.reset();
  plain_srv.reset();
  server_ioc.reset();
  long fds_end = open_fds();
  fs::remove_all(dir);

  const double secs = std::chrono::duration<double>(steady::now() - t_start).count();
  // Content the registry still holds because deletes failed is not growth.
  const long leftover_kib = static_cast<long>((c.leftover_bytes - leftover_warm) / 1024);
  const long rss_growth = rss_end - rss_warm - leftover_kib;
  std::printf("soak: %.0f s, concurrency %d, %s\n", secs, cfg.concurrency,
              with_tls ? "plain http and TLS" : "plain http");
  std::printf("  rounds (push image, pull, delete): %llu\n",
              static_cast<unsigned long long>(c.rounds.load()));
  std::printf("  operations: %llu  (exchanges %llu)\n",
              static_cast<unsigned long long>(c.operations.load()),
              static_cast<unsigned long long>(c.exchanges.load()));
  std::printf("  bytes pushed / pulled: %.1f / %.1f MiB\n", c.bytes_pushed / 1048576.0,
              c.bytes_pulled / 1048576.0);
  std::printf("  faults injected: %llu  (asked %llu, upload sessions dropped %llu)\n",
              static_cast<unsigned long long>(faults),
              static_cast<unsigned long long>(c.faults_asked.load()),
              static_cast<unsigned long long>(c.sessions_dropped.load()));
  std::printf("  retries: %llu\n", static_cast<unsigned long long>(c.retries.load()));
  std::printf("  resumes: %llu downloads, %llu uploads\n",
              static_cast<unsigned long long>(c.download_resumes.load()),
              static_cast<unsigned long long>(c.upload_resumes.load()));
  std::printf("  operations failed with an error (allowed): %llu\n",
              static_cast<unsigned long long>(c.failed.load()));
  {
    std::lock_guard lock(c.mutex);
    for (const auto& [k, n] : c.errors)
      std::printf("    %6llu  %s\n", static_cast<unsigned long long>(n), k.c_str());
  }
  std::printf("  corrupt blobs written or handed out (must be 0): %llu\n",
              static_cast<unsigned long long>(c.corrupt.load()));
  std::printf("  operations stuck past %lld s (must be 0): %llu\n",
              static_cast<long long>(cfg.deadline.count()),
              static_cast<unsigned long long>(c.stuck.load()));
  std::printf(
      "  RSS (quiet): start %ld KiB, after warm-up %ld KiB, end %ld KiB; growth %+ld KiB "
      "(allowed %ld MiB) after %ld KiB of content left by failed deletes\n",
      rss_start, rss_warm, rss_end, rss_growth, cfg.rss_slack_mib, leftover_kib);
  std::printf("  open file descriptors: start %ld, end %ld\n", fds_start, fds_end);

  bool ok = true;
  if (c.corrupt != 0) ok = false;
  if (c.stuck != 0) ok = false;
  if (rss_growth > cfg.rss_slack_mib * 1024) ok = false;
  if (fds_end > fds_start) ok = false;
  if (c.rounds == 0) ok = false;
  std::printf("soak: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

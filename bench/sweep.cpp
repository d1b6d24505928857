// coras-bench sweep: pull throughput and client CPU over a grid of
// concurrency x blob size x ranges on/off x plain/TLS, against the embedded
// registry, written as a CSV (one row per point) and an SVG chart
// (svg_chart.hpp): for each mode, throughput and client CPU seconds per GiB
// against concurrency, one line per blob size, with the machine's ceilings
// (given on the command line) as reference lines.
//
// Each (mode, size) pushes its blobs once (not timed); each point then pulls
// them all into files with `repository::async_fetch_to_file` (staged,
// verified, renamed: what a real pull does), `concurrency` blobs in flight on
// at most `concurrency` connections, and removes the files (not timed).
// Ranges on: blobs of at least 1 MiB come as parallel ranges
// (transfer_options: parallel_threshold 1 MiB, parallel_downloads =
// concurrency, segment_size = max(256 KiB, size / concurrency)); the library
// uses ranges only with at least 2 in flight, so at concurrency 1 "on" is
// "off". Ranges off: parallel_threshold 0.
#include "bench.hpp"
#include "embedded_registry.hpp"
#include "generated_body.hpp"
#include "measure.hpp"
#include "parallel.hpp"
#include "svg_chart.hpp"

#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace coras::bench_tool {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

const char* const sweep_usage = R"(usage: coras-bench sweep [options]

Pulls blobs from the embedded registry over a grid and writes a CSV and an
SVG chart. Each point pulls min(--max-bytes / size, --max-blobs) blobs (at
least 1) into files, verified, with `concurrency` blobs in flight.

grid:
  --concurrency LIST    default 1,2,4,8,16,32,64
  --sizes LIST          blob sizes, K/M/G in powers of 1024
                        (default 4K,64K,1M,16M,256M)
  --ranges LIST         off,on (default both; "on" runs for sizes >= 1M only)
  --modes LIST          plain,tls (default both)
  --max-bytes SIZE      bytes pulled per point at most (default 512M)
  --max-blobs N         blobs per point at most (default 2048)
  --repeat N            runs per point; the CSV keeps the one with the median
                        time (default 1)
chart:
  --ceiling "LABEL=MIB_PER_S"
                        a reference line on the throughput panels (repeat);
                        a label containing "plain" or "tls" goes on that mode's
                        panels only
  --cpu-floor "LABEL=CPU_S_PER_GIB"
                        a reference line on the CPU panels (same rule)
  --title TEXT          the chart's title
  --note TEXT           a footnote line under the chart (repeat)
output:
  --csv FILE            default sweep.csv
  --svg FILE            default sweep.svg
  --from-csv FILE       run nothing: draw the chart from a CSV a sweep wrote
other:
  --threads N           client io_context threads (default 2)
  --memory              the embedded registry keeps content in memory
)";

struct reference {
  std::string label;
  double value = 0;
};

struct sweep_settings {
  std::vector<std::size_t> concurrency{1, 2, 4, 8, 16, 32, 64};
  std::vector<std::uint64_t> sizes{4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20};
  std::vector<bool> ranges{false, true};
  std::vector<std::string> modes{"plain", "tls"};
  std::uint64_t max_bytes = 512ull << 20;
  std::size_t max_blobs = 2048;
  std::size_t repeat = 1;
  std::vector<reference> ceilings, cpu_floors;
  std::vector<std::string> notes;
  std::string title = "coras-bench sweep: verified pulls from the embedded registry";
  std::string csv = "sweep.csv", svg = "sweep.svg", from_csv;
  unsigned threads = 2;
  bool memory = false;
};

// Ranges are used for blobs of at least this many bytes ("on").
constexpr std::uint64_t ranges_threshold = 1 << 20;
constexpr std::uint64_t min_segment = 256 << 10;

struct point {
  std::string mode;
  bool ranges = false;
  std::uint64_t size = 0;
  std::size_t concurrency = 0;
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  double client_cpu_s = 0;
  double server_cpu_s = 0;
  std::uint64_t requests = 0;
  std::uint64_t connections = 0;
  std::size_t repeats = 1;
  double mib_per_s() const { return static_cast<double>(bytes) / (1 << 20) / seconds; }
  double cpu_per_gib() const { return client_cpu_s / (static_cast<double>(bytes) / (1 << 30)); }
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

reference parse_reference(const std::string& opt, const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0) throw std::runtime_error(opt + " wants LABEL=VALUE");
  char* end = nullptr;
  const double v = std::strtod(text.c_str() + eq + 1, &end);
  if (end == text.c_str() + eq + 1 || !(v > 0))
    throw std::runtime_error(opt + ": no positive number after '=' in " + text);
  return {text.substr(0, eq), v};
}

sweep_settings parse_sweep(const std::vector<std::string>& args) {
  sweep_settings s;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    auto count = [&](const std::string& text) -> std::size_t {
      std::size_t used = 0;
      unsigned long long n = 0;
      try {
        n = std::stoull(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || n == 0) throw std::runtime_error(a + " needs positive numbers");
      return static_cast<std::size_t>(n);
    };
    if (a == "-h" || a == "--help") {
      std::cout << sweep_usage;
      std::exit(0);
    } else if (a == "--concurrency") {
      s.concurrency.clear();
      for (const auto& c : split(value(), ',')) s.concurrency.push_back(count(c));
    } else if (a == "--sizes") {
      s.sizes.clear();
      for (const auto& c : split(value(), ',')) s.sizes.push_back(parse_size(c));
    } else if (a == "--ranges") {
      s.ranges.clear();
      for (const auto& c : split(value(), ',')) {
        if (c != "on" && c != "off") throw std::runtime_error("--ranges takes on and off");
        s.ranges.push_back(c == "on");
      }
    } else if (a == "--modes") {
      s.modes = split(value(), ',');
      for (const auto& m : s.modes)
        if (m != "plain" && m != "tls") throw std::runtime_error("--modes takes plain and tls");
    } else if (a == "--max-bytes") {
      s.max_bytes = parse_size(value());
    } else if (a == "--repeat") {
      s.repeat = count(value());
    } else if (a == "--max-blobs") {
      s.max_blobs = count(value());
    } else if (a == "--ceiling") {
      s.ceilings.push_back(parse_reference(a, value()));
    } else if (a == "--cpu-floor") {
      s.cpu_floors.push_back(parse_reference(a, value()));
    } else if (a == "--title") {
      s.title = value();
    } else if (a == "--note") {
      s.notes.push_back(value());
    } else if (a == "--csv") {
      s.csv = value();
    } else if (a == "--svg") {
      s.svg = value();
    } else if (a == "--from-csv") {
      s.from_csv = value();
    } else if (a == "--threads") {
      s.threads = static_cast<unsigned>(count(value()));
    } else if (a == "--memory") {
      s.memory = true;
    } else {
      throw std::runtime_error("sweep: unknown argument: " + a);
    }
  }
  if (s.concurrency.empty() || s.sizes.empty() || s.ranges.empty() || s.modes.empty())
    throw std::runtime_error("sweep: an empty grid");
  for (auto sz : s.sizes)
    if (sz == 0) throw std::runtime_error("--sizes must be above 0");
  return s;
}

std::string size_label(std::uint64_t n) {
  if (n >= (1ull << 30) && n % (1ull << 30) == 0) return std::to_string(n >> 30) + " GiB";
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= (1ull << 10) && n % (1ull << 10) == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " B";
}

[[noreturn]] void fail(const std::string& what, const error_code& ec, const diagnostics& d) {
  throw std::runtime_error(what + ": " + (d.message().empty() ? ec.message() : d.message()));
}

// One mode's run: the embedded registry (plain or TLS), every size, every
// point. Points are appended to `out` as they finish (and printed).
class mode_run {
 public:
  mode_run(const sweep_settings& s, std::string mode, std::vector<point>& out)
      : s_(s), mode_(std::move(mode)), out_(out) {
    settings rs;
    rs.tls = mode_ == "tls";
    rs.memory = s.memory;
    registry_ = std::make_unique<embedded_registry>(rs, dir_.path);
    if (rs.tls) http_.tls.ca_file = registry_->cert().string();
  }

  void run() {
    asio::io_context ioc(static_cast<int>(s_.threads));
    ex_ = ioc.get_executor();
    std::exception_ptr failure;
    asio::co_spawn(ioc, all_sizes(), [&](std::exception_ptr e) { failure = e; });
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < s_.threads; ++i) threads.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& th : threads) th.join();
    if (failure) std::rethrow_exception(failure);
  }

 private:
  http::client make_client(std::size_t connections) {
    auto o = http_;
    o.max_connections_per_origin = connections;
    return http::client(ex_, o);
  }

  remote::repository make_repo(const http::client& client, const remote::transfer_options& t) {
    remote::repository_options o;
    o.plain_http = mode_ == "plain";
    o.transfer = t;
    return remote::repository(client, registry_->host() + "/" + repo_, o);
  }

  asio::awaitable<void> all_sizes() {
    std::random_device rd;
    char tag[17];
    std::snprintf(tag, sizeof tag, "%08x%08x", rd(), rd());
    repo_ = std::string("coras-bench/sweep-") + tag;
    for (const auto size : s_.sizes) co_await one_size(size);
  }

  asio::awaitable<void> one_size(std::uint64_t size) {
    const std::size_t n =
        static_cast<std::size_t>(std::clamp<std::uint64_t>(s_.max_bytes / size, 1, s_.max_blobs));
    // Seeds and digests before anything is timed.
    std::random_device rd;
    std::vector<std::uint64_t> seeds(n);
    std::vector<descriptor> blobs(n);
    for (std::size_t i = 0; i < n; ++i) {
      seeds[i] = (std::uint64_t{rd()} << 32) ^ rd();
      blobs[i].media_type = std::string(media_type::oci_layer);
      blobs[i].digest = digest_of_generated(seeds[i], size);
      blobs[i].size = static_cast<std::int64_t>(size);
    }
    {
      auto client = make_client(8);
      auto repo = make_repo(client, remote::transfer_options{});
      job_fn push = [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
        auto body = std::make_shared<generated_body>(seeds[i], size);
        diagnostics d;
        auto [ec] = co_await repo.async_push(blobs[i], body, d, asio::as_tuple(asio::deferred));
        if (ec) fail("push " + blobs[i].digest.str(), ec, d);
      };
      co_await for_each_parallel(n, 8, push);
    }
    for (const bool ranges : s_.ranges) {
      if (ranges && size < ranges_threshold) continue;
      for (const auto c : s_.concurrency) co_await one_point(blobs, size, ranges, c);
    }
  }

  asio::awaitable<void> one_point(const std::vector<descriptor>& blobs, std::uint64_t size,
                                  bool ranges, std::size_t c) {
    remote::transfer_options t;
    if (ranges) {
      t.parallel_threshold = ranges_threshold;
      t.parallel_downloads = c;
      t.segment_size = std::max(min_segment, (size + c - 1) / c);
    } else {
      t.parallel_threshold = 0;
    }
    // --repeat runs of the point; the one with the median time is kept.
    std::vector<point> runs;
    for (std::size_t run = 0; run < s_.repeat; ++run) {
      auto client = make_client(c);
      auto repo = make_repo(client, t);
      const fs::path into = dir_.path / "pulled";
      fs::create_directories(into);
      job_fn pull = [&](std::size_t, std::size_t i) -> asio::awaitable<void> {
        diagnostics d;
        fs::path path = into / std::to_string(i);
        auto [ec] = co_await repo.async_fetch_to_file(blobs[i], std::move(path), d,
                                                      asio::as_tuple(asio::deferred));
        if (ec) fail("pull " + blobs[i].digest.str(), ec, d);
      };
      point r;
      r.mode = mode_;
      r.ranges = ranges;
      r.size = size;
      r.concurrency = c;
      r.blobs = blobs.size();
      r.repeats = s_.repeat;
      const auto t0 = clock_type::now();
      const double cpu0 = process_cpu_seconds(), server0 = registry_->cpu_seconds();
      co_await for_each_parallel(blobs.size(), c, pull);
      r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
      const double server = registry_->cpu_seconds() - server0;
      r.client_cpu_s = std::max(0.0, process_cpu_seconds() - cpu0 - server);
      r.server_cpu_s = server;
      const auto stats = client.stats();
      r.requests = stats.requests;
      r.connections = stats.connections_opened;
      // Every file is there with its size (the digests were verified by the
      // fetches themselves).
      for (std::size_t i = 0; i < blobs.size(); ++i) {
        const auto got = fs::file_size(into / std::to_string(i));
        if (got != size)
          throw std::runtime_error("pulled file " + std::to_string(i) + " has " +
                                   std::to_string(got) + " bytes");
        r.bytes += got;
      }
      fs::remove_all(into);
      runs.push_back(r);
    }
    std::sort(runs.begin(), runs.end(),
              [](const point& a, const point& b) { return a.seconds < b.seconds; });
    const point p = runs[runs.size() / 2];
    std::fprintf(stderr,
                 "  %-5s ranges %-3s %8s x %-5zu c %-3zu %8.3f s %9.1f MiB/s %7.2f CPU-s/GiB\n",
                 p.mode.c_str(), ranges ? "on" : "off", size_label(size).c_str(), p.blobs, c,
                 p.seconds, p.mib_per_s(), p.cpu_per_gib());
    out_.push_back(p);
  }

  const sweep_settings& s_;
  std::string mode_;
  std::vector<point>& out_;
  temp_dir dir_;
  std::unique_ptr<embedded_registry> registry_;
  http::client_options http_;
  asio::any_io_executor ex_;
  std::string repo_;
};

constexpr const char* csv_header =
    "mode,ranges,size_bytes,concurrency,blobs,bytes,seconds,mib_per_s,client_cpu_s,"
    "client_cpu_s_per_gib,server_cpu_s,requests,connections,repeats";

void write_csv(const std::string& path, const std::vector<point>& points) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << csv_header << '\n';
  char line[512];
  for (const auto& p : points) {
    std::snprintf(line, sizeof line,
                  "%s,%s,%llu,%zu,%zu,%llu,%.4f,%.2f,%.4f,%.4f,%.4f,%llu,%llu,%zu\n",
                  p.mode.c_str(), p.ranges ? "on" : "off", static_cast<unsigned long long>(p.size),
                  p.concurrency, p.blobs, static_cast<unsigned long long>(p.bytes), p.seconds,
                  p.mib_per_s(), p.client_cpu_s, p.cpu_per_gib(), p.server_cpu_s,
                  static_cast<unsigned long long>(p.requests),
                  static_cast<unsigned long long>(p.connections), p.repeats);
    f << line;
  }
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

std::vector<point> read_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::string line;
  if (!std::getline(f, line) || line != csv_header)
    throw std::runtime_error(path + ": not a sweep CSV (header differs)");
  std::vector<point> points;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const auto c = split(line, ',');
    if (c.size() != 14) throw std::runtime_error(path + ": bad row: " + line);
    point p;
    p.mode = c[0];
    p.ranges = c[1] == "on";
    p.size = std::stoull(c[2]);
    p.concurrency = std::stoull(c[3]);
    p.blobs = std::stoull(c[4]);
    p.bytes = std::stoull(c[5]);
    p.seconds = std::stod(c[6]);
    p.client_cpu_s = std::stod(c[8]);
    p.server_cpu_s = std::stod(c[10]);
    p.requests = std::stoull(c[11]);
    p.connections = std::stoull(c[12]);
    p.repeats = std::stoull(c[13]);
    points.push_back(p);
  }
  return points;
}

// References whose label names the other mode stay off this mode's panels.
std::vector<svg::reference_line> references_for(const std::vector<reference>& refs,
                                                const std::string& mode) {
  std::vector<svg::reference_line> out;
  const std::string other = mode == "tls" ? "plain" : "tls";
  for (const auto& r : refs)
    if (r.label.find(other) == std::string::npos || r.label.find(mode) != std::string::npos)
      out.push_back({r.label, r.value});
  return out;
}

void write_svg(const sweep_settings& s, const std::vector<point>& points) {
  static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::vector<std::uint64_t> sizes;
  std::vector<std::pair<std::string, bool>> variants;  // (mode, ranges), first-seen order
  for (const auto& p : points) {
    if (std::find(sizes.begin(), sizes.end(), p.size) == sizes.end()) sizes.push_back(p.size);
    const std::pair<std::string, bool> v{p.mode, p.ranges};
    if (std::find(variants.begin(), variants.end(), v) == variants.end()) variants.push_back(v);
  }
  std::sort(sizes.begin(), sizes.end());
  std::vector<svg::panel> panels;
  for (const auto& [mode, ranges] : variants) {
    const std::string what = mode + ", ranges " + (ranges ? "on" : "off");
    svg::panel thru{"throughput (" + what + ")",
                    "concurrency (blobs in flight, connections)",
                    "MiB/s",
                    {},
                    references_for(s.ceilings, mode)};
    svg::panel cpu{"client CPU per GiB (" + what + ")",
                   "concurrency (blobs in flight, connections)",
                   "CPU seconds per GiB",
                   {},
                   references_for(s.cpu_floors, mode)};
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      svg::series a{size_label(sizes[k]) + " blobs", palette[k % std::size(palette)], {}};
      svg::series b = a;
      for (const auto& p : points)
        if (p.mode == mode && p.ranges == ranges && p.size == sizes[k]) {
          a.points.emplace_back(static_cast<double>(p.concurrency), p.mib_per_s());
          b.points.emplace_back(static_cast<double>(p.concurrency), p.cpu_per_gib());
        }
      auto by_x = [](auto& l, auto& r) { return l.first < r.first; };
      std::sort(a.points.begin(), a.points.end(), by_x);
      std::sort(b.points.begin(), b.points.end(), by_x);
      if (!a.points.empty()) {
        thru.lines.push_back(std::move(a));
        cpu.lines.push_back(std::move(b));
      }
    }
    panels.push_back(std::move(thru));
    panels.push_back(std::move(cpu));
  }
  std::vector<std::string> notes = s.notes;
  const std::size_t repeats = points.front().repeats;
  notes.push_back("Each point: every blob pulled into a file and verified (async_fetch_to_file), " +
                  (repeats > 1 ? "the median of " + std::to_string(repeats) + " runs"
                               : std::string("one run")) +
                  "; both axes logarithmic; dashed red lines: the machine's ceilings.");
  std::ofstream f(s.svg);
  if (!f) throw std::runtime_error("cannot write " + s.svg);
  f << svg::render(s.title, panels, 2, notes);
  if (!f.flush()) throw std::runtime_error("cannot write " + s.svg);
}

}  // namespace

int run_sweep(const std::vector<std::string>& args) {
  const sweep_settings s = parse_sweep(args);
  std::vector<point> points;
  if (!s.from_csv.empty()) {
    points = read_csv(s.from_csv);
  } else {
    for (const auto& mode : s.modes) {
      std::fprintf(stderr, "coras-bench sweep: %s, embedded registry\n", mode.c_str());
      mode_run(s, mode, points).run();
      // Written after each mode, so a later failure keeps what was measured.
      write_csv(s.csv, points);
    }
  }
  if (points.empty()) throw std::runtime_error("sweep: no points");
  write_svg(s, points);
  std::fprintf(stderr, "coras-bench sweep: %zu points%s%s, chart %s\n", points.size(),
               s.from_csv.empty() ? ", CSV " : "", s.from_csv.empty() ? s.csv.c_str() : "",
               s.svg.c_str());
  return 0;
}

}  // namespace coras::bench_tool

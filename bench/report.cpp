// coras-bench's output: a table for people, or one JSON document for
// bench/compare.sh (its member names are that script's interface).
#include "bench.hpp"
#include "measure.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

namespace coras::bench_tool {

namespace json = boost::json;

namespace {

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

}  // namespace

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

}  // namespace coras::bench_tool

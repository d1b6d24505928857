// The mirror's counters: stats() for programs, GET /metrics (Prometheus text)
// for operators, and the upstream request latency histogram they share.
#include "mirror/cache.hpp"

#include <cstdio>

namespace coras::mirror::detail {

std::string cache::metrics() {
  const auto s = stats();
  std::string t;
  auto counter = [&](const char* name, const char* help, std::uint64_t v, const char* type) {
    t += "# HELP coras_mirror_";
    t += name;
    t += ' ';
    t += help;
    t += "\n# TYPE coras_mirror_";
    t += name;
    t += ' ';
    t += type;
    t += "\ncoras_mirror_";
    t += name;
    t += ' ';
    t += std::to_string(v);
    t += '\n';
  };
  counter("hits_total", "Blob GETs served from the store.", s.hits, "counter");
  counter("misses_total", "Manifest and blob reads that asked the upstream.", s.misses, "counter");
  counter("upstream_fetches_total", "Blob fetches started upstream.", s.upstream_fetches,
          "counter");
  counter("upstream_bytes_total", "Bytes read from the upstream.", s.upstream_bytes, "counter");
  counter("served_bytes_total", "Blob bytes sent to clients.", s.bytes_served, "counter");
  counter("in_flight_fetches", "Blob fetches running upstream now.", s.in_flight, "gauge");
  counter("evictions_total", "Blobs evicted from the store.", s.evictions, "counter");
  counter("refused_clients_total", "Requests refused with 429 (max_clients).", s.refused_clients,
          "counter");
  counter("failed_fetches_total", "Upstream fetches that ended in an error.", s.failed_fetches,
          "counter");
  counter("store_bytes", "Bytes of fetched blobs the store holds.", s.store_bytes, "gauge");
  counter("buffered_bytes", "Bytes the blob fetches hold in memory for their clients.",
          s.buffered_bytes, "gauge");
  counter("buffered_bytes_peak", "The most bytes the blob fetches held in memory at once.",
          s.buffered_bytes_peak, "gauge");
  t += "# HELP coras_mirror_upstream_request_seconds Time from a client's request reaching the "
       "upstream path to its last byte (manifests: to the stored manifest).\n"
       "# TYPE coras_mirror_upstream_request_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    cumulative += latency_[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", buckets[i]);
    t += "coras_mirror_upstream_request_seconds_bucket{le=\"" + std::string(le) + "\"} " +
         std::to_string(cumulative) + "\n";
  }
  cumulative += latency_[buckets.size()].load();
  t += "coras_mirror_upstream_request_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) +
       "\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(latency_sum_us_.load()) / 1e6);
  t += "coras_mirror_upstream_request_seconds_sum " + std::string(sum) + "\n";
  t += "coras_mirror_upstream_request_seconds_count " + std::to_string(cumulative) + "\n";
  return t;
}

mirror_stats cache::stats() const noexcept {
  mirror_stats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.upstream_fetches = upstream_fetches_.load();
  s.upstream_bytes = upstream_bytes_.load();
  s.bytes_served = bytes_served_.load();
  s.in_flight = in_flight_.load();
  s.evictions = evictions_.load();
  s.refused_clients = refused_.load();
  s.failed_fetches = failed_.load();
  s.store_bytes = store_bytes_.load();
  s.buffered_bytes = buffered_->now.load();
  s.buffered_bytes_peak = buffered_->peak.load();
  return s;
}

void cache::observe(clock::time_point start) noexcept {
  const double s = std::chrono::duration<double>(clock::now() - start).count();
  std::size_t i = 0;
  while (i < buckets.size() && s > buckets[i]) ++i;
  ++latency_[i];
  latency_sum_us_ += static_cast<std::uint64_t>(s * 1e6);
}

}  // namespace coras::mirror::detail

// What coras-bench measures besides time: CPU seconds (the process's, a
// thread's), the peak RSS of a phase, and latency percentiles.
#pragma once

#include <coras/http/client.hpp>

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coras::bench_tool {

// CPU seconds `clock` (a thread's, from pthread_getcpuclockid) has used; 0
// when it cannot be read.
double cpu_seconds_of(clockid_t clock);

// User plus system CPU seconds of the whole process so far.
double process_cpu_seconds();

// Starts a new peak-RSS window; false where the platform has none (then
// peak_rss_mib reports the process's lifetime peak).
bool reset_peak_rss();

// The peak RSS in MiB since reset_peak_rss() (per_phase: it returned true),
// else the lifetime peak.
double peak_rss_mib(bool per_phase);

// One phase's numbers, as the reports print them.
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

// The `p`th percentile (0-100) of `sorted`, by nearest rank; 0 when empty.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace coras::bench_tool

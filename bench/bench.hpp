// coras-bench's parts, and what they share: the settings main.cpp parses,
// the registry measured (target), and the phases and reports run on them.
//
//   main.cpp              arguments, the target, the watchdog, main
//   phases.cpp            the measured phases (push, pull, resolve, http)
//   report.cpp            the table and the JSON document
//   sweep.cpp             `sweep`: the grid, its CSV and chart
//   layout_stall.cpp      `layout`: how long an OCI layout's file work holds
//                         up the caller's thread, inline and offloaded
//   svg_chart.{hpp,cpp}   the chart writer the sweep uses
//   parallel.hpp          jobs with a bound on how many are in flight
//   measure.{hpp,cpp}     CPU, peak RSS, percentiles; a phase's result
//   generated_body.*      the seeded, incompressible blob content
//   embedded_registry.*   the registry run in this process, by default
#pragma once

#include "measure.hpp"

#include <coras/http/options.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace coras::bench_tool {

class embedded_registry;  // embedded_registry.hpp

// What the command line asks for (main.cpp's parse_args).
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
  bool strand = false;  // --strand: the client keeps its strand with one thread
  unsigned time_limit = 300;
  bool json = false;
};

// The registry (or, for `http`, the URL's host) a run measures.
struct target {
  std::string host;  // what goes into references
  std::string description;
  bool plain_http = false;
  http::client_options http;
};

// Runs the phases `s.command` names against `t` on an io_context with
// `s.threads` threads and returns their results; the first failure is
// rethrown. `embedded` (or nullptr) is asked for the registry thread's CPU.
std::vector<phase_result> run_phases(const settings& s, const target& t,
                                     const embedded_registry* embedded);

// `coras-bench sweep ARGS...` (sweep.cpp); `args` follow the word "sweep".
// Returns the exit status; throws std::runtime_error on bad arguments and
// failed pulls.
int run_sweep(const std::vector<std::string>& args);

// `coras-bench layout ARGS...` (layout_stall.cpp), as run_sweep.
int run_layout_stall(const std::vector<std::string>& args);

// `coras-bench floor URL ARGS...` (stack_floor.cpp), as run_sweep: the same
// manifest GET on Asio and Beast alone, for the stack's share of a request.
int run_stack_floor(const std::vector<std::string>& args);

// "4K", "64M", "1G", "512" (K/M/G in powers of 1024, an optional B or iB);
// throws std::runtime_error on anything else (main.cpp).
std::uint64_t parse_size(const std::string& text);

// The results on stdout: a table, or one JSON document (--json).
void print_table(const settings& s, const target& t, const std::vector<phase_result>& results);
void print_json(const settings& s, const target& t, const std::vector<phase_result>& results);

}  // namespace coras::bench_tool

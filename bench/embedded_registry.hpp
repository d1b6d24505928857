// The registry coras-bench measures by default: coras::server::registry in
// this process, on 127.0.0.1, on an io_context thread of its own (whose CPU
// time is read apart from the client's), storing into a temporary directory.
#pragma once

#include "bench.hpp"

#include <coras/server/registry.hpp>

#include <boost/asio/io_context.hpp>

#include <time.h>

#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace coras::bench_tool {

// A fresh directory under the system's temporary directory, removed with
// everything in it when this goes.
struct temp_dir {
  std::filesystem::path path;
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// Started by the constructor (with --tls, a self-signed certificate made by
// the openssl command; with --memory, no files), stopped by the destructor.
class embedded_registry {
 public:
  embedded_registry(const settings& s, const std::filesystem::path& dir);
  ~embedded_registry();
  embedded_registry(const embedded_registry&) = delete;
  embedded_registry& operator=(const embedded_registry&) = delete;

  std::string host() const { return registry_->host(); }
  std::string url() const { return registry_->url(); }
  const std::filesystem::path& cert() const { return cert_; }
  double cpu_seconds() const { return cpu_seconds_of(cpu_clock_); }
  server::registry_stats stats() const { return registry_->stats(); }

 private:
  boost::asio::io_context ioc_{1};
  std::optional<server::registry> registry_;
  std::thread thread_;
  clockid_t cpu_clock_{};
  std::filesystem::path cert_;
};

}  // namespace coras::bench_tool

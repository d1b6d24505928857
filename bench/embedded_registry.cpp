#include "embedded_registry.hpp"

#include <pthread.h>
#include <stdlib.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace coras::bench_tool {

namespace fs = std::filesystem;

temp_dir::temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "coras-bench.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

embedded_registry::embedded_registry(const settings& s, const fs::path& dir) {
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

embedded_registry::~embedded_registry() {
  registry_->stop();
  thread_.join();
}

}  // namespace coras::bench_tool

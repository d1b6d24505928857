// Test-only helpers for the embedded registry's tests: a registry running on a
// background thread, and a small synchronous HTTP/1.1 client (Beast, kept in
// support.cpp so that the test files compile without it).
#pragma once

#include <coras/server/registry.hpp>
#include <coras_test/random_bytes.hpp>
#include <coras_test/temp_dir.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coras::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  header_list headers;
  std::string body;
  /// False when the connection ended before the whole body arrived.
  bool complete = true;
  /// Transport error text ("" when the exchange completed).
  std::string error;

  /// The first value of header `name` (case-insensitive); "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

/// One keep-alive connection to 127.0.0.1:`port` (plain or TLS without
/// certificate verification), reopened when the server closed it.
class http_client {
 public:
  explicit http_client(std::uint16_t port, bool tls = false);
  ~http_client();
  http_client(http_client&&) noexcept;

  /// Sends one request and reads the whole response. `chunked` sends the body
  /// with Transfer-Encoding: chunked. A `Host` header is added when missing.
  http_response request(std::string_view method, std::string_view target,
                        const header_list& headers = {}, std::string_view body = {},
                        bool chunked = false);
  http_response get(std::string_view target, const header_list& headers = {}) {
    return request("GET", target, headers);
  }
  /// How many TCP connections this client opened so far.
  unsigned connections_opened() const noexcept;
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sends `GET target` on a fresh connection, reads `read_bytes` of the
/// response, then resets the connection (SO_LINGER 0): a client vanishing
/// mid-body.
void get_and_reset(std::uint16_t port, std::string_view target, std::size_t read_bytes);

/// What a raw connection received: every byte until the server closed it.
struct raw_reply {
  std::string bytes;
  /// True when the server closed the connection (EOF or reset) within the
  /// wait; false when it was still open.
  bool closed = false;
};

/// Sends `bytes` as they are (anything, not necessarily HTTP) on a fresh
/// connection and reads until the server closes it, waiting at most `wait`.
raw_reply send_raw(std::uint16_t port, std::string_view bytes,
                   std::chrono::milliseconds wait = std::chrono::seconds(5));

/// A registry serving on its own io_context thread; stopped and joined by the
/// destructor.
class running_registry {
 public:
  explicit running_registry(server::registry_options options = {});
  ~running_registry();

  server::registry& operator*() noexcept { return *registry_; }
  server::registry* operator->() noexcept { return registry_.get(); }
  std::uint16_t port() const noexcept { return registry_->port(); }
  http_client client() const { return http_client(port(), tls_); }

 private:
  struct loop;
  std::unique_ptr<loop> loop_;  // declared first: destroyed after the registry
  std::unique_ptr<server::registry> registry_;
  bool tls_ = false;
};

/// Writes a self-signed P-256 certificate for 127.0.0.1 and its key (PEM).
void write_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key);

/// `sha256:<hex>` of `data`.
std::string sha256(std::string_view data);

/// Pushes `data` into `repo` with one POST ?digest=; returns its digest.
std::string push_blob(http_client& c, std::string_view repo, std::string_view data,
                      const header_list& headers = {});
/// Pushes a manifest under `reference` (tag or digest); returns the response.
http_response put_manifest(http_client& c, std::string_view repo, std::string_view reference,
                           std::string_view json, std::string_view media_type,
                           const header_list& headers = {});

/// An OCI image manifest JSON over `config` and `layers` (digest, size) with
/// optional artifactType, subject (digest, size) and annotations (JSON object text).
struct blob_ref {
  std::string digest;
  std::size_t size = 0;
};
std::string image_manifest_json(
    const blob_ref& config, const std::vector<blob_ref>& layers,
    std::string_view artifact_type = {}, const blob_ref* subject = nullptr,
    std::string_view annotations = {},
    std::string_view config_media_type = "application/vnd.oci.image.config.v1+json");

/// `a == b`, without Catch printing megabytes of binary when they differ.
inline bool same(std::string_view a, std::string_view b) { return a == b; }

/// This process's resident set size in KiB (VmRSS of /proc/self/status): the
/// registry runs in the test process, so floods are measured here.
std::size_t rss_kib();

/// Milliseconds a fresh connection takes to get `GET /v2/` answered; -1
/// when it was not answered (any status counts as an answer).
long fresh_v2_ms(std::uint16_t port, const header_list& headers = {});

/// Basic credentials header value.
std::string basic(std::string_view user, std::string_view password);

}  // namespace coras::test

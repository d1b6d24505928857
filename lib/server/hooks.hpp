// The registry's test hooks: counters, the request log and pending faults,
// shared by the public `registry` object (which sets them) and the dispatcher
// (which takes them, one request at a time).
#pragma once

#include <coras/server/registry.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server::detail {

/// Counters, request log and pending faults. Counters are atomics; the rest
/// sits behind a mutex, so test code may poke it from any thread.
class hooks {
 public:
  explicit hooks(std::size_t log_capacity) : log_capacity_(log_capacity) {}

  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> handshakes{0};
  std::atomic<std::uint64_t> connections_evicted{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> requests{0};
  /// Faults a request took (a cut, a status, a delay, a header edit, a
  /// corrupted body): what a chaos run injected, as opposed to what it asked for.
  std::atomic<std::uint64_t> faults_taken{0};

  void record(request_record r);
  std::vector<request_record> log() const;
  void clear_log();

  void cut_blob_gets(std::deque<std::uint64_t> offsets);
  void set_status_fault(status_fault f);
  void set_delay_fault(delay_fault f);
  void set_redirect(std::string base_url);
  void set_header_fault(header_fault f);
  void cut_uploads(std::deque<std::uint64_t> offsets);
  void corrupt_blob_gets(unsigned count);
  void reset_tls_handshakes(unsigned count);
  void clear_faults();

  std::optional<status_fault> take_status_fault(std::string_view path);
  std::optional<delay_fault> take_delay_fault(std::string_view path);
  std::optional<header_fault> take_header_fault(std::string_view path, std::string_view method);
  std::optional<std::uint64_t> take_cut();
  std::optional<std::uint64_t> take_upload_cut();
  bool take_corruption();
  bool take_handshake_reset();
  std::string redirect_base() const;

 private:
  mutable std::mutex mutex_;
  std::size_t log_capacity_;
  std::deque<request_record> log_;
  std::deque<std::uint64_t> cuts_;
  std::deque<std::uint64_t> upload_cuts_;
  unsigned corruptions_ = 0;
  unsigned handshake_resets_ = 0;
  std::optional<status_fault> status_;
  std::optional<delay_fault> delay_;
  std::optional<header_fault> header_;
  std::string redirect_;
};

}  // namespace coras::server::detail

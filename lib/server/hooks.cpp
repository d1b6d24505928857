// The test hooks' state: the request log and pending faults, set from any
// thread through `registry` and taken by the dispatcher.
#include "server/hooks.hpp"

#include <coras/http/fields.hpp>

namespace coras::server {

std::string request_record::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (http::iequals(k, name)) return v;
  return {};
}

namespace detail {

void hooks::record(request_record r) {
  std::lock_guard lock(mutex_);
  if (log_capacity_ == 0) return;
  if (log_.size() >= log_capacity_) log_.pop_front();
  log_.push_back(std::move(r));
}

std::vector<request_record> hooks::log() const {
  std::lock_guard lock(mutex_);
  return {log_.begin(), log_.end()};
}

void hooks::clear_log() {
  std::lock_guard lock(mutex_);
  log_.clear();
}

void hooks::cut_blob_gets(std::deque<std::uint64_t> offsets) {
  std::lock_guard lock(mutex_);
  cuts_ = std::move(offsets);
}

void hooks::cut_uploads(std::deque<std::uint64_t> offsets) {
  std::lock_guard lock(mutex_);
  upload_cuts_ = std::move(offsets);
}

void hooks::corrupt_blob_gets(unsigned count) {
  std::lock_guard lock(mutex_);
  corruptions_ = count;
}

void hooks::reset_tls_handshakes(unsigned count) {
  std::lock_guard lock(mutex_);
  handshake_resets_ = count;
}

void hooks::set_status_fault(status_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    status_.reset();
  else
    status_ = std::move(f);
}

void hooks::set_delay_fault(delay_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    delay_.reset();
  else
    delay_ = std::move(f);
}

void hooks::set_header_fault(header_fault f) {
  std::lock_guard lock(mutex_);
  if (f.count == 0)
    header_.reset();
  else
    header_ = std::move(f);
}

void hooks::set_redirect(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  std::lock_guard lock(mutex_);
  redirect_ = std::move(base_url);
}

void hooks::clear_faults() {
  std::lock_guard lock(mutex_);
  cuts_.clear();
  upload_cuts_.clear();
  corruptions_ = 0;
  handshake_resets_ = 0;
  status_.reset();
  delay_.reset();
  header_.reset();
  redirect_.clear();
}

std::optional<status_fault> hooks::take_status_fault(std::string_view path) {
  std::lock_guard lock(mutex_);
  if (!status_ || path.find(status_->path_contains) == std::string_view::npos) return std::nullopt;
  auto f = *status_;
  if (--status_->count == 0) status_.reset();
  ++faults_taken;
  return f;
}

std::optional<delay_fault> hooks::take_delay_fault(std::string_view path) {
  std::lock_guard lock(mutex_);
  if (!delay_ || path.find(delay_->path_contains) == std::string_view::npos) return std::nullopt;
  auto f = *delay_;
  if (--delay_->count == 0) delay_.reset();
  ++faults_taken;
  return f;
}

std::optional<header_fault> hooks::take_header_fault(std::string_view path,
                                                     std::string_view method) {
  std::lock_guard lock(mutex_);
  if (!header_ || path.find(header_->path_contains) == std::string_view::npos ||
      (!header_->method.empty() && !http::iequals(header_->method, method)))
    return std::nullopt;
  auto f = *header_;
  if (--header_->count == 0) header_.reset();
  ++faults_taken;
  return f;
}

std::optional<std::uint64_t> hooks::take_cut() {
  std::lock_guard lock(mutex_);
  if (cuts_.empty()) return std::nullopt;
  auto n = cuts_.front();
  cuts_.pop_front();
  ++faults_taken;
  return n;
}

std::optional<std::uint64_t> hooks::take_upload_cut() {
  std::lock_guard lock(mutex_);
  if (upload_cuts_.empty()) return std::nullopt;
  auto n = upload_cuts_.front();
  upload_cuts_.pop_front();
  ++faults_taken;
  return n;
}

bool hooks::take_corruption() {
  std::lock_guard lock(mutex_);
  if (corruptions_ == 0) return false;
  --corruptions_;
  ++faults_taken;
  return true;
}

bool hooks::take_handshake_reset() {
  std::lock_guard lock(mutex_);
  if (handshake_resets_ == 0) return false;
  --handshake_resets_;
  ++faults_taken;
  return true;
}

std::string hooks::redirect_base() const {
  std::lock_guard lock(mutex_);
  return redirect_;
}

}  // namespace detail
}  // namespace coras::server

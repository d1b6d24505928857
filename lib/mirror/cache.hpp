// The pull-through cache's private declarations, shared by the files that
// implement it (one purpose each: blobs.cpp, manifests.cpp, store_limit.cpp,
// metrics.cpp, mirror.cpp). The registry's `server::upstream` seam implemented
// with the repository API. One `flight` per blob being fetched: the first
// client's request starts it, every client asking for the blob meanwhile
// reads the same bytes as they arrive (the tee: the verified reader's pieces
// go to the storage's writer and into the flight's window of recent chunks;
// each client's response reads at its own offset, from the window, or from
// the writer when it is behind it), and the storage commits the
// blob only once the reader verified it. A reader hands out the last piece
// only after verification, and a flight holds back the last byte until the
// commit: a digest mismatch leaves every client a connection closed short.
#pragma once

#include <coras/core/error.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace coras::mirror::detail {

namespace asio = boost::asio;
using asio::awaitable;
using clock = std::chrono::steady_clock;
using timer_ptr = std::shared_ptr<asio::steady_timer>;
using server::upstream_answer;

inline constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
inline constexpr std::size_t piece = 256 * 1024;

// Wakes waiters on whatever executor each waits on (several registries may
// share a mirror). A waiter re-checks its condition after every wake-up and at
// least once a second, so a wake-up racing its wait costs at most a second.
void wake(std::vector<timer_ptr> waiters);

template <class Pred>
awaitable<void> wait_until(std::mutex& m, std::vector<timer_ptr>& waiters, Pred pred) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto t = std::make_shared<asio::steady_timer>(ex, std::chrono::seconds(1));
    {
      std::lock_guard lock(m);
      if (pred()) co_return;
      waiters.push_back(t);
    }
    co_await t->async_wait(tuple);
  }
}

upstream_answer error_answer(unsigned status, std::string code, std::string message);

// What a client sees when the upstream said no, or could not be asked.
upstream_answer upstream_failure(const error_code& ec, const diagnostics& diag,
                                 std::string_view not_found_code);

// Request latency buckets (seconds) of the metrics' histogram.
inline constexpr std::array<double, 11> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};

// The bytes all flights hold in memory (mirror_stats::buffered_bytes, and its
// peak). Shared by the cache and its flights: a flight may outlive the cache's
// counters while the cache is being destroyed.
struct buffer_gauge {
  std::atomic<std::uint64_t> now{0};
  std::atomic<std::uint64_t> peak{0};
  void add(std::uint64_t n) noexcept {
    const auto v = now += n;
    auto p = peak.load();
    while (v > p && !peak.compare_exchange_weak(p, v)) {
    }
  }
  void sub(std::uint64_t n) noexcept { now -= n; }
};

struct flight {
  explicit flight(std::shared_ptr<buffer_gauge> g) : gauge(std::move(g)) {}
  ~flight() { gauge->sub(buffered); }
  flight(const flight&) = delete;
  flight& operator=(const flight&) = delete;

  digest d;
  std::string repository;
  std::mutex m;
  std::vector<timer_ptr> waiters;
  enum class state { running, done, failed } st = state::running;
  bool opened = false;
  std::uint64_t size = 0;
  // The bytes in memory: the most recent ones (max_flight_buffer_bytes, see
  // `keep`), all of them from the store's failure on.
  std::deque<std::shared_ptr<const std::string>> chunks;
  std::deque<std::uint64_t> starts;  // offset of each chunk
  std::uint64_t buffered = 0;        // bytes in chunks
  std::uint64_t arrived = 0;
  std::optional<upstream_answer> failure;  // set when it failed before the first byte
  // The storage's writer, shared with the streams: bytes [0, stored) can be
  // read there (read_at), after the commit too, until the last stream ends.
  // Set before `opened`, never reset while the flight lives.
  std::shared_ptr<server::content_sink::blob_writer> writer;
  std::uint64_t stored = 0;
  bool store_failed = false;  // no writer, or an append failed: nothing more is stored
  std::shared_ptr<buffer_gauge> gauge;

  // Bytes a client may have: all once stored, else all but the last byte.
  std::uint64_t readable_locked() const {
    if (st == state::done) return arrived;
    return arrived > 0 && arrived == size ? arrived - 1 : arrived;
  }
  // The first byte still in memory; those before it are read from the writer.
  std::uint64_t kept_from_locked() const { return starts.empty() ? arrived : starts.front(); }
  // Appends a piece that arrived, and drops the oldest pieces beyond `window`
  // that the writer holds. Once the store failed nothing is dropped: the
  // clients are served from memory (all of the blob from then on).
  void keep_locked(std::shared_ptr<const std::string> chunk, std::uint64_t window) {
    const auto n = chunk->size();
    starts.push_back(arrived);
    chunks.push_back(std::move(chunk));
    arrived += n;
    buffered += n;
    gauge->add(n);
    if (store_failed) return;
    while (!chunks.empty() && buffered > window &&
           starts.front() + chunks.front()->size() <= stored)
      drop_front_locked();
  }
  void drop_front_locked() {
    const auto n = chunks.front()->size();
    chunks.pop_front();
    starts.pop_front();
    buffered -= n;
    gauge->sub(n);
  }
};

struct manifest_flight {
  std::mutex m;
  std::vector<timer_ptr> waiters;
  bool done = false;
  std::optional<upstream_answer> result;
};

class cache;

class flight_stream final : public server::body_stream {
 public:
  flight_stream(std::shared_ptr<cache> owner, std::shared_ptr<flight> f, clock::time_point start);
  ~flight_stream() override;
  std::uint64_t size() const noexcept override { return f_->size; }
  awaitable<std::size_t> async_read_at(std::uint64_t offset, asio::mutable_buffer buffer) override;

 private:
  std::shared_ptr<cache> owner_;
  std::shared_ptr<flight> f_;
  clock::time_point start_;
  bool observed_ = false;
};

class cache final : public upstream_cache, public std::enable_shared_from_this<cache> {
 public:
  cache(http::client client, mirror_options o);  // mirror.cpp

  // ---- server::upstream ----

  // manifests.cpp
  bool tag_fresh(std::string_view repository, std::string_view tag) override;
  awaitable<std::optional<upstream_answer>> async_fetch_manifest(
      std::string repository, std::string reference,
      std::shared_ptr<server::content_sink> sink) override;
  awaitable<std::optional<upstream_answer>> fetch_manifest(
      std::string repository, std::string reference, std::shared_ptr<server::content_sink> sink);

  // blobs.cpp
  awaitable<blob_result> async_open_blob(std::string repository, digest d,
                                         std::shared_ptr<server::content_sink> sink) override;

  // manifests.cpp
  awaitable<upstream_answer> async_list_tags(std::string repository, std::string query) override;
  awaitable<upstream_answer> async_referrers(std::string repository, digest subject,
                                             std::string artifact_type) override;

  // mirror.cpp
  std::optional<upstream_answer> refuse_write(std::string_view) override;

  // store_limit.cpp
  void served_from_store(std::string_view repository, const digest& d,
                         std::uint64_t bytes) noexcept override;

  // metrics.cpp
  std::string metrics() override;
  mirror_stats stats() const noexcept override;

  // ---- for flight_stream ----

  void observe(clock::time_point start) noexcept;  // metrics.cpp
  void served(std::uint64_t n) noexcept { bytes_served_ += n; }
  std::atomic<std::size_t> clients_{0};

 private:
  // A client counted against max_clients while it waits on the upstream.
  struct client_slot {
    std::atomic<std::size_t>* n = nullptr;
    client_slot() = default;
    explicit client_slot(std::atomic<std::size_t>* c) : n(c) {}
    client_slot(client_slot&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
    ~client_slot() {
      if (n) --*n;
    }
    explicit operator bool() const noexcept { return n != nullptr; }
  };
  client_slot enter();        // mirror.cpp
  upstream_answer refusal();  // mirror.cpp

  // ---- the store's size limit (max_store_bytes): store_limit.cpp ----

  // The blobs a stored manifest references (m_ held): never evicted.
  void remember_references(const std::string& manifest_key, std::string_view json);

  // A blob the store now holds; evicts the least recently used unreferenced
  // ones while the total is above the limit.
  void stored(const std::string& repository, const digest& d, std::uint64_t size,
              server::content_sink& sink);

  static std::string key(std::string_view repository, std::string_view tag);  // mirror.cpp

  remote::repository repo(std::string_view name) const;  // mirror.cpp

  // One upstream fetch per blob: bytes to the storage and to the flight's
  // readers as they arrive (blobs.cpp).
  static awaitable<void> fetch(std::shared_ptr<cache> self, std::shared_ptr<flight> f,
                               std::shared_ptr<server::content_sink> sink);

  http::client client_;
  mirror_options o_;
  std::string host_;
  std::string namespace_;

  std::mutex m_;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
  std::unordered_map<std::string, std::shared_ptr<manifest_flight>> manifest_flights_;
  std::unordered_map<std::string, clock::time_point> tag_times_;
  struct stored_blob {
    std::string repository;
    digest d;
    std::uint64_t size = 0;
    clock::time_point last_used;
  };
  std::unordered_map<std::string, stored_blob> stored_;                  // by repository:digest
  std::unordered_map<std::string, std::vector<std::string>> manifests_;  // their references
  std::unordered_map<std::string, std::size_t> referenced_;              // digest -> manifests
  std::atomic<std::uint64_t> store_bytes_{0};
  std::shared_ptr<buffer_gauge> buffered_ = std::make_shared<buffer_gauge>();
  std::size_t active_ = 0;  // upstream fetches holding a slot (m_)
  std::vector<timer_ptr> slot_waiters_;

  std::atomic<std::uint64_t> hits_{0}, misses_{0}, upstream_fetches_{0}, upstream_bytes_{0},
      bytes_served_{0}, in_flight_{0}, evictions_{0}, refused_{0}, failed_{0};
  std::array<std::atomic<std::uint64_t>, buckets.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
};

}  // namespace coras::mirror::detail

// The pull-through cache: the registry's `server::upstream` seam implemented
// with the repository API. One `flight` per blob being fetched: the first
// client's request starts it, every client asking for the blob meanwhile
// reads the same bytes as they arrive (the tee: the verified reader's pieces
// go to the storage's writer and into the flight's chunks, which each
// client's response reads at its own offset), and the storage commits the
// blob only once the reader verified it. A reader hands out the last piece
// only after verification, and a flight holds back the last byte until the
// commit: a digest mismatch leaves every client a connection closed short.
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/mirror/mirror.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace coras::mirror {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using clock = std::chrono::steady_clock;
using timer_ptr = std::shared_ptr<asio::steady_timer>;
using server::upstream_answer;

constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t piece = 256 * 1024;

// Wakes waiters on whatever executor each waits on (several registries may
// share a mirror). A waiter re-checks its condition after every wake-up and at
// least once a second, so a wake-up racing its wait costs at most a second.
void wake(std::vector<timer_ptr> waiters) {
  for (auto& t : waiters) asio::post(t->get_executor(), [t] { t->cancel(); });
}

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

upstream_answer error_answer(unsigned status, std::string code, std::string message) {
  upstream_answer a;
  a.status = status;
  a.code = std::move(code);
  a.message = std::move(message);
  return a;
}

// What a client sees when the upstream said no, or could not be asked.
upstream_answer upstream_failure(const error_code& ec, const diagnostics& diag,
                                 std::string_view not_found_code) {
  const auto words = diag.message().empty() ? ec.message() : diag.message();
  if (ec == errc::not_found) return error_answer(404, std::string(not_found_code), words);
  if (ec == errc::too_many_requests)
    return error_answer(429, "TOOMANYREQUESTS", "upstream: " + words);
  if (ec == errc::unauthorized || ec == errc::denied)
    return error_answer(ec == errc::unauthorized ? 401 : 403,
                        ec == errc::unauthorized ? "UNAUTHORIZED" : "DENIED", "upstream: " + words);
  upstream_answer a;
  a.status = 502;
  a.content_type = "text/plain; charset=utf-8";
  a.body = "upstream: " + words + "\n";
  return a;
}

// Request latency buckets (seconds) of the metrics' histogram.
constexpr std::array<double, 11> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct flight {
  digest d;
  std::string repository;
  std::mutex m;
  std::vector<timer_ptr> waiters;
  enum class state { running, done, failed } st = state::running;
  bool opened = false;
  std::uint64_t size = 0;
  std::vector<std::shared_ptr<const std::string>> chunks;
  std::vector<std::uint64_t> starts;  // offset of each chunk
  std::uint64_t arrived = 0;
  std::optional<upstream_answer> failure;  // set when it failed before the first byte

  // Bytes a client may have: all once stored, else all but the last byte.
  std::uint64_t readable_locked() const {
    if (st == state::done) return arrived;
    return arrived > 0 && arrived == size ? arrived - 1 : arrived;
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
  cache(http::client client, mirror_options o) : client_(std::move(client)), o_(std::move(o)) {
    auto url = boost::urls::parse_absolute_uri(o_.upstream);
    if (!url || (url->scheme() != "https" && url->scheme() != "http") ||
        url->encoded_host().empty() || url->has_query() || url->has_fragment())
      throw std::invalid_argument("mirror_options::upstream \"" + o_.upstream +
                                  "\" is not https://HOST[:PORT][/NAMESPACE]");
    host_ = std::string(url->encoded_host_and_port());
    std::string path = url->path();
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    while (!path.empty() && path.back() == '/') path.pop_back();
    namespace_ = path;
    o_.repository.plain_http = url->scheme() == "http";
  }

  // ---- server::upstream ----

  bool tag_fresh(std::string_view repository, std::string_view tag) override {
    std::lock_guard lock(m_);
    auto it = tag_times_.find(key(repository, tag));
    return it != tag_times_.end() && clock::now() - it->second < o_.tag_ttl;
  }

  awaitable<std::optional<upstream_answer>> async_fetch_manifest(
      std::string repository, std::string reference,
      std::shared_ptr<server::content_sink> sink) override {
    ++misses_;
    auto guard = enter();
    if (!guard) co_return refusal();
    // Single flight for manifests too: clients asking for the same reference
    // while it is being fetched wait for that fetch's outcome.
    std::shared_ptr<manifest_flight> f;
    bool starter = false;
    const auto k = key(repository, reference);
    {
      std::lock_guard lock(m_);
      auto& slot = manifest_flights_[k];
      if (!slot) {
        slot = std::make_shared<manifest_flight>();
        starter = true;
      }
      f = slot;
    }
    if (starter) {
      auto result = co_await fetch_manifest(repository, reference, sink);
      {
        std::lock_guard lock(m_);
        manifest_flights_.erase(k);
      }
      std::lock_guard lock(f->m);
      f->result = result;
      f->done = true;
      wake(std::move(f->waiters));
      f->waiters.clear();
      co_return result;
    }
    auto done = [&] { return f->done; };
    co_await wait_until(f->m, f->waiters, done);
    std::lock_guard lock(f->m);
    co_return f->result;
  }

  awaitable<std::optional<upstream_answer>> fetch_manifest(
      std::string repository, std::string reference, std::shared_ptr<server::content_sink> sink) {
    const auto start = clock::now();
    const bool by_tag = reference.find(':') == std::string::npos;
    auto r = repo(repository);
    diagnostics diag;
    auto [ec, got] = co_await r.async_fetch_reference(reference, diag, tuple);
    std::string bytes;
    if (!ec) {
      auto [rec, body] = co_await got.body.async_read_all(o_.max_manifest_bytes, diag, tuple);
      ec = rec;
      bytes = std::move(body);
    }
    observe(start);
    if (ec) {
      // A tag the upstream cannot confirm now (or lacks: pushed here with
      // allow_push) is served as stored.
      if (by_tag && sink->has_manifest(repository, reference)) co_return std::nullopt;
      co_return upstream_failure(ec, diag, "MANIFEST_UNKNOWN");
    }
    upstream_bytes_ += bytes.size();
    std::string why;
    auto shared = std::make_shared<const std::string>(std::move(bytes));
    if (!sink->put_manifest(repository, got.desc.media_type, shared, got.desc.digest,
                            by_tag ? std::string_view(reference) : std::string_view(), &why)) {
      upstream_answer a;
      a.status = 502;
      a.content_type = "text/plain; charset=utf-8";
      a.body = "upstream manifest " + reference + " not stored: " + why + "\n";
      co_return a;
    }
    {
      std::lock_guard lock(m_);
      if (by_tag) tag_times_[key(repository, reference)] = clock::now();
      remember_references(key(repository, got.desc.digest.str()), *shared);
    }
    co_return std::nullopt;
  }

  awaitable<blob_result> async_open_blob(std::string repository, digest d,
                                         std::shared_ptr<server::content_sink> sink) override {
    const auto start = clock::now();
    ++misses_;
    blob_result out;
    if (clients_.fetch_add(1) >= o_.max_clients) {
      --clients_;
      out.answer = refusal();
      co_return out;
    }
    // From here the client is counted until its stream (or this call) ends.
    struct leave {
      std::atomic<std::size_t>* n;
      ~leave() {
        if (n) --*n;
      }
    } left{&clients_};

    std::shared_ptr<flight> f;
    bool starter = false;
    {
      std::lock_guard lock(m_);
      auto& slot = flights_[d.str()];
      if (!slot) {
        slot = std::make_shared<flight>();
        slot->d = d;
        slot->repository = repository;
        starter = true;
      }
      f = slot;
    }
    if (starter) {
      ++upstream_fetches_;
      auto ex = co_await asio::this_coro::executor;
      asio::co_spawn(ex, fetch(shared_from_this(), f, sink), asio::detached);
    }
    auto opened = [&] { return f->opened || f->st != flight::state::running; };
    co_await wait_until(f->m, f->waiters, opened);
    {
      std::lock_guard lock(f->m);
      if (!f->opened) {
        out.answer =
            f->failure ? *f->failure : error_answer(404, "BLOB_UNKNOWN", "upstream fetch failed");
        co_return out;
      }
    }
    left.n = nullptr;  // the stream leaves
    out.body = std::make_shared<flight_stream>(shared_from_this(), f, start);
    co_return out;
  }

  awaitable<upstream_answer> async_list_tags(std::string repository, std::string query) override {
    auto guard = enter();
    if (!guard) co_return refusal();
    auto r = repo(repository);
    diagnostics diag;
    auto [ec, tags] = co_await r.async_list_tags(diag, tuple);
    if (ec) co_return upstream_failure(ec, diag, "NAME_UNKNOWN");
    std::sort(tags.begin(), tags.end());
    // The client's pagination (n, last) is applied to the whole list.
    std::size_t n = tags.size();
    std::string last;
    try {
      boost::urls::url u;
      u.set_encoded_query(query);
      for (auto p : u.params()) {
        if (p.key == "n" && p.has_value) n = std::stoul(p.value);
        if (p.key == "last" && p.has_value) last = p.value;
      }
    } catch (const std::exception&) {  // a malformed query: the whole list
    }
    auto from = last.empty() ? tags.begin() : std::upper_bound(tags.begin(), tags.end(), last);
    boost::json::array list;
    for (auto it = from; it != tags.end() && list.size() < n; ++it) list.emplace_back(*it);
    upstream_answer a;
    a.content_type = "application/json";
    if (!list.empty() && from + static_cast<std::ptrdiff_t>(list.size()) != tags.end())
      a.headers.emplace_back("Link", "</v2/" + repository + "/tags/list?n=" + std::to_string(n) +
                                         "&last=" + std::string(list.back().as_string()) +
                                         ">; rel=\"next\"");
    boost::json::object doc;
    doc["name"] = repository;
    doc["tags"] = std::move(list);
    a.body = boost::json::serialize(doc);
    co_return a;
  }

  awaitable<upstream_answer> async_referrers(std::string repository, digest subject,
                                             std::string artifact_type) override {
    auto guard = enter();
    if (!guard) co_return refusal();
    auto r = repo(repository);
    descriptor target;
    target.media_type = std::string(media_type::oci_manifest);
    target.digest = subject;
    image_index index;
    index.media_type = std::string(media_type::oci_index);
    remote::referrers_handler collect = [&](std::span<const descriptor> page) {
      index.manifests.insert(index.manifests.end(), page.begin(), page.end());
      return true;
    };
    diagnostics diag;
    auto [ec] = co_await r.async_referrers(target, artifact_type, collect, diag, tuple);
    if (ec) co_return upstream_failure(ec, diag, "NAME_UNKNOWN");
    upstream_answer a;
    a.content_type = std::string(media_type::oci_index);
    a.body = index.to_json();
    if (!artifact_type.empty()) a.headers.emplace_back("OCI-Filters-Applied", "artifactType");
    co_return a;
  }

  std::optional<upstream_answer> refuse_write(std::string_view) override {
    if (o_.allow_push) return std::nullopt;
    return error_answer(405, "UNSUPPORTED",
                        "this registry is a pull-through mirror of " + o_.upstream +
                            ": pushes and deletes are refused (mirror_options::allow_push, "
                            "coras serve --mirror-allow-push)");
  }

  void served_from_store(std::string_view repository, const digest& d,
                         std::uint64_t bytes) noexcept override {
    ++hits_;
    bytes_served_ += bytes;
    std::lock_guard lock(m_);
    if (auto it = stored_.find(key(repository, d.str())); it != stored_.end())
      it->second.last_used = clock::now();
  }

  std::string metrics() override {
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
    counter("misses_total", "Manifest and blob reads that asked the upstream.", s.misses,
            "counter");
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

  mirror_stats stats() const noexcept override {
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
    return s;
  }

  // ---- for flight_stream ----

  void observe(clock::time_point start) noexcept {
    const double s = std::chrono::duration<double>(clock::now() - start).count();
    std::size_t i = 0;
    while (i < buckets.size() && s > buckets[i]) ++i;
    ++latency_[i];
    latency_sum_us_ += static_cast<std::uint64_t>(s * 1e6);
  }
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
  client_slot enter() {
    if (clients_.fetch_add(1) >= o_.max_clients) {
      --clients_;
      return {};
    }
    return client_slot(&clients_);
  }
  upstream_answer refusal() {
    ++refused_;
    auto a = error_answer(429, "TOOMANYREQUESTS",
                          "mirror client limit (mirror_options::max_clients = " +
                              std::to_string(o_.max_clients) + ") reached");
    a.headers.emplace_back("Retry-After", "1");
    return a;
  }

  // ---- the store's size limit (max_store_bytes) ----

  // The blobs a stored manifest references (m_ held): never evicted.
  void remember_references(const std::string& manifest_key, std::string_view json) {
    if (manifests_.contains(manifest_key)) return;
    std::vector<std::string> refs;
    if (auto m = image_manifest::try_parse(json)) {
      refs.push_back(m->config.digest.str());
      for (const auto& l : m->layers) refs.push_back(l.digest.str());
    }
    for (const auto& r : refs) ++referenced_[r];
    manifests_.emplace(manifest_key, std::move(refs));
  }

  // A blob the store now holds; evicts the least recently used unreferenced
  // ones while the total is above the limit.
  void stored(const std::string& repository, const digest& d, std::uint64_t size,
              server::content_sink& sink) {
    std::vector<std::pair<std::string, digest>> doomed;
    {
      std::lock_guard lock(m_);
      auto [it, fresh] = stored_.try_emplace(key(repository, d.str()));
      if (fresh) {
        it->second = stored_blob{repository, d, size, clock::now()};
        store_bytes_ += size;
      }
      while (o_.max_store_bytes > 0 && store_bytes_.load() > o_.max_store_bytes) {
        auto victim = stored_.end();
        for (auto s = stored_.begin(); s != stored_.end(); ++s) {
          if (referenced_.contains(s->second.d.str())) continue;
          if (victim == stored_.end() || s->second.last_used < victim->second.last_used) victim = s;
        }
        if (victim == stored_.end()) break;  // everything left is referenced
        store_bytes_ -= victim->second.size;
        doomed.emplace_back(victim->second.repository, victim->second.d);
        stored_.erase(victim);
      }
    }
    for (const auto& [repo, dd] : doomed)
      if (sink.remove_blob(repo, dd)) ++evictions_;
  }

  static std::string key(std::string_view repository, std::string_view tag) {
    std::string k(repository);
    k += ':';
    k += tag;
    return k;
  }

  remote::repository repo(std::string_view name) const {
    std::string full = host_ + "/";
    if (!namespace_.empty()) full += namespace_ + "/";
    full += name;
    return remote::repository(client_, full, o_.repository);
  }

  // One upstream fetch per blob: bytes to the storage and to the flight's
  // readers as they arrive.
  static awaitable<void> fetch(std::shared_ptr<cache> self, std::shared_ptr<flight> f,
                               std::shared_ptr<server::content_sink> sink) {
    auto slot = [&] {
      if (self->active_ >= self->o_.max_upstream_fetches) return false;
      ++self->active_;
      return true;
    };
    co_await wait_until(self->m_, self->slot_waiters_, slot);
    ++self->in_flight_;
    diagnostics diag;
    const std::string ref = f->d.str();
    std::optional<remote::repository> r;
    error_code ec;
    remote::fetched got;
    try {
      r.emplace(self->repo(f->repository));  // NAMESPACE/<name> may not be a valid name
    } catch (const coras::error& e) {
      ec = e.code();
      diag.assign(std::current_exception());
    }
    if (r) {
      auto [fetch_ec, fetched] = co_await r->async_fetch_blob_reference(ref, diag, tuple);
      ec = fetch_ec;
      got = std::move(fetched);
    }
    std::unique_ptr<server::content_sink::blob_writer> writer;
    if (!ec) {
      // The store failing (a full disk) must not stop the clients' bytes:
      // they are served, nothing is stored, a later request fetches again.
      try {
        writer = sink->begin_blob(f->repository);
      } catch (const std::exception&) {
      }
      std::lock_guard lock(f->m);
      f->size = static_cast<std::uint64_t>(got.desc.size);
      f->opened = true;
      wake(std::move(f->waiters));
      f->waiters.clear();
    } else {
      std::lock_guard lock(f->m);
      f->failure = upstream_failure(ec, diag, "BLOB_UNKNOWN");
    }
    bool ok = !ec;
    while (ok) {
      auto chunk = std::make_shared<std::string>(piece, '\0');
      auto [rec, n] = co_await got.body.async_read_some(asio::buffer(*chunk), tuple);
      if (rec == asio::error::eof) break;
      if (rec) {
        ok = false;
        break;
      }
      if (n == 0) continue;
      chunk->resize(n);
      self->upstream_bytes_ += n;
      if (writer && !writer->append(*chunk)) writer.reset();  // clients are still served
      std::lock_guard lock(f->m);
      f->starts.push_back(f->arrived);
      f->chunks.push_back(std::move(chunk));
      f->arrived += n;
      wake(std::move(f->waiters));
      f->waiters.clear();
    }
    if (ok) ok = static_cast<std::uint64_t>(got.desc.size) == f->arrived;
    // A failed commit only costs a later refetch.
    bool committed = false;
    try {
      committed = ok && writer && writer->commit(f->d);
    } catch (const std::exception&) {
    }
    if (committed) self->stored(f->repository, f->d, f->arrived, *sink);
    writer.reset();
    if (!ok) ++self->failed_;
    {
      std::lock_guard lock(f->m);
      f->st = ok ? flight::state::done : flight::state::failed;
      wake(std::move(f->waiters));
      f->waiters.clear();
    }
    --self->in_flight_;
    std::lock_guard lock(self->m_);
    if (auto it = self->flights_.find(f->d.str()); it != self->flights_.end() && it->second == f)
      self->flights_.erase(it);
    --self->active_;
    wake(std::move(self->slot_waiters_));
    self->slot_waiters_.clear();
  }

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
  std::size_t active_ = 0;  // upstream fetches holding a slot (m_)
  std::vector<timer_ptr> slot_waiters_;

  std::atomic<std::uint64_t> hits_{0}, misses_{0}, upstream_fetches_{0}, upstream_bytes_{0},
      bytes_served_{0}, in_flight_{0}, evictions_{0}, refused_{0}, failed_{0};
  std::array<std::atomic<std::uint64_t>, buckets.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
};

flight_stream::flight_stream(std::shared_ptr<cache> owner, std::shared_ptr<flight> f,
                             clock::time_point start)
    : owner_(std::move(owner)), f_(std::move(f)), start_(start) {}

flight_stream::~flight_stream() { --owner_->clients_; }

awaitable<std::size_t> flight_stream::async_read_at(std::uint64_t offset,
                                                    asio::mutable_buffer buffer) {
  auto& f = *f_;
  auto ready = [&] { return f.st == flight::state::failed || f.readable_locked() > offset; };
  co_await wait_until(f.m, f.waiters, ready);
  std::size_t n = 0;
  {
    std::lock_guard lock(f.m);
    if (f.st == flight::state::failed)
      throw coras::error(errc::digest_mismatch,
                         "upstream fetch of " + f.d.str() + " failed: the response is cut short");
    const auto end = f.readable_locked();
    auto it = std::upper_bound(f.starts.begin(), f.starts.end(), offset);
    const auto i = static_cast<std::size_t>(it - f.starts.begin()) - 1;
    const auto& chunk = *f.chunks[i];
    const auto at = offset - f.starts[i];
    const auto avail = std::min<std::uint64_t>(chunk.size() - at, end - offset);
    n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, buffer.size()));
    std::memcpy(buffer.data(), chunk.data() + at, n);
  }
  owner_->served(n);
  if (!observed_ && offset + n == f.size) {
    observed_ = true;
    owner_->observe(start_);
  }
  co_return n;
}

}  // namespace

std::shared_ptr<upstream_cache> make_upstream(http::client client, mirror_options options) {
  return std::make_shared<cache>(std::move(client), std::move(options));
}

std::shared_ptr<upstream_cache> attach(server::registry_options& registry, http::client client,
                                       mirror_options options) {
  auto up = make_upstream(std::move(client), std::move(options));
  registry.upstream = up;
  return up;
}

}  // namespace coras::mirror

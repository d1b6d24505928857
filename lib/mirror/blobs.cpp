// Blobs through the mirror: one upstream fetch per blob however many clients
// ask (the flight), its bytes teed to the storage's writer and to every
// client's stream, each reading at its own offset (see cache.hpp).
#include "mirror/cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <cstring>

namespace coras::mirror::detail {

awaitable<server::upstream::blob_result> cache::async_open_blob(
    std::string repository, digest d, std::shared_ptr<server::content_sink> sink) {
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
      slot = std::make_shared<flight>(buffered_);
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

awaitable<void> cache::fetch(std::shared_ptr<cache> self, std::shared_ptr<flight> f,
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
  if (!ec) {
    // The store failing (a full disk) must not stop the clients' bytes:
    // they are served (from memory), nothing is stored, a later request
    // fetches again.
    std::shared_ptr<server::content_sink::blob_writer> writer;
    try {
      writer = sink->begin_blob(f->repository);
    } catch (const std::exception&) {
    }
    std::lock_guard lock(f->m);
    f->writer = std::move(writer);
    f->store_failed = !f->writer;
    f->size = static_cast<std::uint64_t>(got.desc.size);
    f->opened = true;
    wake(std::move(f->waiters));
    f->waiters.clear();
  } else {
    std::lock_guard lock(f->m);
    f->failure = upstream_failure(ec, diag, "BLOB_UNKNOWN");
  }
  // Only this coroutine appends and commits; f->writer is not reset while
  // the flight lives (the streams read from it), so no lock is needed here.
  const auto& writer = f->writer;
  const auto window = self->o_.max_flight_buffer_bytes;
  bool storing = !ec && writer;
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
    // A failed append stops the storing, not the clients (keep_locked then
    // keeps every byte in memory); the bytes appended before stay readable.
    if (storing && !writer->append(*chunk)) storing = false;
    std::lock_guard lock(f->m);
    if (storing)
      f->stored += n;
    else
      f->store_failed = true;
    f->keep_locked(std::move(chunk), window);
    wake(std::move(f->waiters));
    f->waiters.clear();
  }
  if (ok) ok = static_cast<std::uint64_t>(got.desc.size) == f->arrived;
  // A failed commit only costs a later refetch.
  bool committed = false;
  try {
    committed = ok && storing && writer->commit(f->d);
  } catch (const std::exception&) {
  }
  if (committed) self->stored(f->repository, f->d, f->arrived, *sink);
  if (!ok) ++self->failed_;
  {
    std::lock_guard lock(f->m);
    f->st = ok ? flight::state::done : flight::state::failed;
    // Committed, the writer reads the whole blob: the streams still going
    // read it there, and the flight's memory goes now.
    if (committed)
      while (!f->chunks.empty()) f->drop_front_locked();
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
  std::shared_ptr<server::content_sink::blob_writer> writer;
  std::size_t from_writer = 0;
  {
    std::lock_guard lock(f.m);
    if (f.st == flight::state::failed)
      throw coras::error(errc::digest_mismatch,
                         "upstream fetch of " + f.d.str() + " failed: the response is cut short");
    const auto end = f.readable_locked();
    if (offset < f.kept_from_locked()) {
      // Behind the bytes in memory: the writer has them (kept_from <= stored).
      writer = f.writer;
      from_writer = static_cast<std::size_t>(
          std::min<std::uint64_t>(std::min(end, f.stored) - offset, buffer.size()));
    } else {
      auto it = std::upper_bound(f.starts.begin(), f.starts.end(), offset);
      const auto i = static_cast<std::size_t>(it - f.starts.begin()) - 1;
      const auto& chunk = *f.chunks[i];
      const auto at = offset - f.starts[i];
      const auto avail = std::min<std::uint64_t>(chunk.size() - at, end - offset);
      n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, buffer.size()));
      std::memcpy(buffer.data(), chunk.data() + at, n);
    }
  }
  if (writer) {
    // Outside the flight's lock: a disk read must not hold up the fetch.
    n = writer->read_at(offset, std::span<char>(static_cast<char*>(buffer.data()), from_writer));
    if (n == 0)
      throw coras::error(errc::size_mismatch, "mirror: bytes of " + f.d.str() +
                                                  " the store wrote cannot be read back: the "
                                                  "response is cut short");
  }
  owner_->served(n);
  if (!observed_ && offset + n == f.size) {
    observed_ = true;
    owner_->observe(start_);
  }
  co_return n;
}

}  // namespace coras::mirror::detail

// The graph copy: a depth-first walk from the root in which each node is a
// coroutine on one strand; children are visited concurrently and pushed
// before their parent; a node seen twice is waited for, not copied again;
// transfers take one of `concurrency` slots, waiting for children does not
// (so a deep graph cannot starve itself). Referrers are walked in rounds
// after the graph that lists them is complete: a wait then only ever follows
// a content edge (a digest names its children, so those edges cannot form a
// cycle), never a listing, which a registry may make loop.
#include <coras/content/store.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/platform.hpp>

#include "detail/spawn.hpp"
#include "detail/waitable.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace coras::copy {

namespace asio = boost::asio;
using asio::awaitable;
using content::store;

namespace {

// What a manifest references: its subject first (a referrer's subject must
// exist before it), then config and layers, or an index's manifests.
std::vector<descriptor> successors(const descriptor& node, std::string_view json) {
  std::vector<descriptor> out;
  auto summary = summarize_manifest(json);
  if (summary.subject) out.push_back(*summary.subject);
  if (media_type::is_index(node.media_type)) {
    auto index = image_index::parse(json);
    out.insert(out.end(), index.manifests.begin(), index.manifests.end());
  } else if (node.media_type == media_type::oci_artifact_manifest) {
    auto m = artifact_manifest::parse(json);
    out.insert(out.end(), m.blobs.begin(), m.blobs.end());
  } else {
    auto m = image_manifest::parse(json);
    out.push_back(m.config);
    out.insert(out.end(), m.layers.begin(), m.layers.end());
  }
  return out;
}

class engine {
 public:
  engine(asio::any_io_executor ex, asio::any_io_executor transfers, std::shared_ptr<store> src,
         std::shared_ptr<store> dst, copy_options o)
      : ex_(std::move(ex)),
        transfers_(std::move(transfers)),
        src_(std::move(src)),
        dst_(std::move(dst)),
        opts_(std::move(o)) {
    if (opts_.concurrency == 0) opts_.concurrency = 1;
    free_ = opts_.concurrency;
    // Blobs between two repositories of one registry are mounted.
    auto* a = src_->as_mounter();
    mounter_ = dst_->as_mounter();
    if (a && mounter_ && a->domain() == mounter_->domain()) {
      same_store_ = a->name() == mounter_->name();
      mount_from_ = a->name();
    } else {
      mounter_ = nullptr;
    }
  }

  awaitable<copy_result> run(std::string src_ref, std::string dst_ref) {
    auto root = co_await src_->resolve(src_ref);
    co_await run_graph(root);
    if (!dst_ref.empty()) co_await dst_->tag(result_.root, dst_ref);
    co_return result_;
  }

  // The graph under `root` (or under its entry for `opts_.platform`).
  awaitable<copy_result> run_graph(descriptor root) {
    if (opts_.platform && media_type::is_index(root.media_type)) root = co_await select(root);
    if (!same_store_) {
      co_await visit(root, 0, std::nullopt);
      // Each round lists the referrers of the manifests the round before
      // copied; rounds end because each digest is visited once and the node
      // and depth caps hold.
      while (!listable_.empty() && !stopped_) {
        auto round = std::move(listable_);
        listable_.clear();
        co_await referrers_round(std::move(round));
      }
      if (stopped_) std::rethrow_exception(stopped_);
    }
    result_.root = std::move(root);
    co_return result_;
  }

 private:
  // A transfer slot (cancellable while waiting).
  awaitable<void> acquire() {
    if (free_ > 0) {
      --free_;
      co_return;
    }
    auto w = std::make_shared<coras::detail::waitable>(ex_);
    waiters_.push_back(w);
    co_await w->wait();
  }
  void release() {
    while (!waiters_.empty()) {
      auto w = std::move(waiters_.front());
      waiters_.pop_front();
      if (w.use_count() > 1) {  // someone still waits on it: hand the slot over
        w->finish(nullptr);
        return;
      }
    }
    ++free_;
  }
  struct slot {
    engine* e;
    ~slot() { e->release(); }
  };

  void emit(copy_event::kind what, const descriptor& d, std::uint64_t done = 0) {
    if (!opts_.on_event) return;
    std::lock_guard lock(event_mutex_);
    opts_.on_event(copy_event{what, d, done, static_cast<std::uint64_t>(d.size)});
  }

  awaitable<std::string> read_manifest(const descriptor& d) {
    if (static_cast<std::uint64_t>(d.size) > opts_.max_manifest_bytes)
      throw coras::error(errc::size_limit_exceeded, "manifest " + d.digest.str() + " of " +
                                                        std::to_string(d.size) +
                                                        " bytes exceeds max_manifest_bytes");
    auto body = co_await src_->fetch(d);
    std::string out(static_cast<std::size_t>(d.size), '\0');
    std::size_t filled = 0;
    for (;;) {
      // Reading until the source reports the end is what verifies it.
      char* at = out.data() + filled;
      std::size_t room = out.size() - filled;
      char extra;
      auto n = co_await body->read(room ? asio::buffer(at, room) : asio::buffer(&extra, 1));
      if (n == 0) break;
      if (room == 0)
        throw coras::error(errc::size_mismatch, "manifest " + d.digest.str() + " is too long");
      filled += n;
    }
    if (filled != out.size())
      throw coras::error(errc::size_mismatch, "manifest " + d.digest.str() + " is too short");
    co_return out;
  }

  // The index entry for the wanted platform.
  awaitable<descriptor> select(descriptor index) {
    auto json = co_await read_manifest(index);
    auto parsed = image_index::parse(json);
    co_return select_platform(parsed.manifests, *opts_.platform, "index " + index.digest.str());
  }

  // A manifest whose referrers are still to be listed, and its depth.
  struct listable {
    descriptor subject;
    std::size_t depth = 0;
  };

  // A cap was hit: no node starts and no manifest is pushed from now on, the
  // transfers in flight end as they would, and run() fails with the error.
  // (Not thrown where it is found: that would cancel the siblings' transfers
  // mid-operation, and Asio 1.81's co_spawn cancellation handler can then
  // touch an operation that just finished.)
  void stop(const std::string& message) {
    if (!stopped_)
      stopped_ = std::make_exception_ptr(coras::error(errc::size_limit_exceeded, message));
  }
  bool too_many_nodes() {
    if (opts_.max_nodes == 0 || nodes_.size() + result_.referrers_skipped < opts_.max_nodes)
      return false;
    stop("copy: the graph has more than " + std::to_string(opts_.max_nodes) +
         " nodes (copy_options::max_nodes)");
    return true;
  }

  // Copies `d` and its subgraph once; concurrent visitors wait for the first.
  // `depth`: edges from the root. `parent`: the manifest whose referrers
  // listing named `d` (then `d` must point at it, and a visit already under
  // way is not waited for: nothing depends on a referrer).
  awaitable<void> visit(descriptor d, std::size_t depth, std::optional<descriptor> parent) {
    const auto key = d.digest.str();
    if (auto it = nodes_.find(key); it != nodes_.end()) {
      if (parent) co_return;
      auto shared = it->second;
      co_await shared->wait();
      co_return;
    }
    if (stopped_) co_return;
    if (opts_.max_depth > 0 && depth > opts_.max_depth) {
      stop("copy: " + key + " is " + std::to_string(depth) +
           " edges from the root, more than copy_options::max_depth (" +
           std::to_string(opts_.max_depth) + ")");
      co_return;
    }
    if (too_many_nodes()) co_return;
    std::optional<std::string> json;
    if (parent) {
      json = co_await referrer_manifest(d, *parent);
      if (!json) co_return;  // skipped, with a warning
      // Others ran while it was read: one of them may have taken it.
      if (nodes_.contains(key) || stopped_ || too_many_nodes()) co_return;
    }
    auto node = std::make_shared<coras::detail::waitable>(ex_);
    nodes_.emplace(key, node);
    std::exception_ptr failure;
    try {
      co_await copy_node(d, depth, std::move(json));
    } catch (...) {
      failure = std::current_exception();
    }
    node->finish(failure);
    if (failure) std::rethrow_exception(failure);
    // Referrers come after their subject is complete (they reference it),
    // in the next round.
    if (opts_.referrers && media_type::is_manifest(d.media_type))
      listable_.push_back(listable{d, depth});
  }

  // The manifest of `d`, listed as a referrer of `parent`, when its subject
  // is `parent`; nullopt (and a warning) otherwise.
  awaitable<std::optional<std::string>> referrer_manifest(const descriptor& d,
                                                          const descriptor& parent) {
    std::string why;
    std::optional<std::string> json;
    if (!media_type::is_manifest(d.media_type)) {
      why = "it is not a manifest (" + d.media_type + ")";
    } else {
      {
        co_await acquire();
        slot held{this};
        json = co_await read_manifest(d);
      }
      auto summary = summarize_manifest(*json);
      if (!summary.subject)
        why = "its manifest has no subject";
      else if (!(summary.subject->digest == parent.digest))
        why = "its manifest's subject is " + summary.subject->digest.str();
    }
    if (why.empty()) co_return json;
    ++result_.referrers_skipped;
    if (opts_.on_warning) {
      std::lock_guard lock(event_mutex_);
      opts_.on_warning(copy_warning{d, parent,
                                    "skipping " + d.digest.str() + ", listed as a referrer of " +
                                        parent.digest.str() + ": " + why});
    }
    co_return std::nullopt;
  }

  awaitable<void> referrers_of(listable l) {
    if (stopped_) co_return;
    auto referrers = co_await src_->predecessors(l.subject);
    if (referrers) co_await visit_all(std::move(*referrers), l.depth + 1, l.subject);
  }

  awaitable<void> referrers_round(std::vector<listable> round) {
    if (round.empty()) co_return;
    using op_type = decltype(asio::co_spawn(ex_, referrers_of(round.front()), asio::deferred));
    std::vector<op_type> ops;
    ops.reserve(round.size());
    for (auto& l : round)
      ops.push_back(asio::co_spawn(ex_, referrers_of(std::move(l)), asio::deferred));
    auto [order, errors] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
    for (auto i : order)
      if (errors[i]) std::rethrow_exception(errors[i]);
  }

  awaitable<void> visit_all(std::vector<descriptor> list, std::size_t depth,
                            std::optional<descriptor> parent) {
    if (list.empty()) co_return;
    using op_type =
        decltype(asio::co_spawn(ex_, visit(list.front(), depth, parent), asio::deferred));
    std::vector<op_type> ops;
    ops.reserve(list.size());
    for (auto& d : list)
      ops.push_back(asio::co_spawn(ex_, visit(std::move(d), depth, parent), asio::deferred));
    // The first failure cancels the siblings.
    auto [order, errors] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
    for (auto i : order)
      if (errors[i]) std::rethrow_exception(errors[i]);
  }

  // `read`: the manifest when the caller has read it already.
  awaitable<void> copy_node(descriptor d, std::size_t depth, std::optional<std::string> read) {
    if (co_await dst_->exists(d)) {
      ++result_.skipped;
      emit(copy_event::kind::skipped, d);
      co_return;
    }
    if (media_type::is_manifest(d.media_type)) {
      std::string json;
      if (read) {
        json = std::move(*read);
      } else {
        co_await acquire();
        slot held{this};
        json = co_await read_manifest(d);
      }
      co_await visit_all(successors(d, json), depth + 1, std::nullopt);
      // A child may have been left out: the manifest must not go up.
      if (stopped_) co_return;
      {
        co_await acquire();
        slot held{this};
        co_await dst_->push(d, coras::memory_source(std::move(json)));
      }
      ++result_.copied;
      result_.bytes += static_cast<std::uint64_t>(d.size);
      emit(copy_event::kind::copied, d);
      co_return;
    }
    co_await acquire();
    slot held{this};
    if (stopped_) co_return;
    if (mounter_) {
      co_await mounter_->mount(d, mount_from_);
      ++result_.mounted;
      emit(copy_event::kind::mounted, d);
      co_return;
    }
    // Beside the strand, not on it: a store's blocking file write (one the
    // kernel's writeback throttles sleeps for a good part of a second) then
    // stalls its own blob, not every transfer of the copy.
    co_await asio::co_spawn(transfers_, transfer(d), asio::use_awaitable);
    ++result_.copied;
    result_.bytes += static_cast<std::uint64_t>(d.size);
    emit(copy_event::kind::copied, d);
  }

  // One blob from src_ to dst_. Touches only what is fixed at construction
  // (and emit, which locks): it runs off the strand.
  awaitable<void> transfer(descriptor d) {
    auto body = co_await src_->fetch(d);
    if (opts_.on_event)
      body = coras::counted_source(std::move(body), [this, d](std::uint64_t done) {
        emit(copy_event::kind::progress, d, done);
      });
    co_await dst_->push(d, std::move(body));
  }

  asio::any_io_executor ex_;         // the walk's strand
  asio::any_io_executor transfers_;  // the executor under it: blob transfers
  std::shared_ptr<store> src_, dst_;
  copy_options opts_;
  content::mounter* mounter_ = nullptr;  // dst_, when blobs can be mounted from src_
  bool same_store_ = false;
  std::string mount_from_;
  std::map<std::string, std::shared_ptr<coras::detail::waitable>> nodes_;
  std::vector<listable> listable_;  // for the next referrers round
  std::exception_ptr stopped_;      // a cap was hit (see stop())
  std::size_t free_ = 0;
  std::deque<std::shared_ptr<coras::detail::waitable>> waiters_;
  std::mutex event_mutex_;
  copy_result result_;
};

}  // namespace

namespace {

// Runs `walk` on a new engine whose node coroutines share one strand (the
// engine's state needs no lock); blob transfers run on the calling
// coroutine's executor itself (in parallel on a pool).
template <class Walk>
awaitable<copy_result> on_engine(std::shared_ptr<store> src, std::shared_ptr<store> dst,
                                 copy_options options, Walk walk) {
  if (!src || !dst) throw coras::error(errc::invalid_argument, "copy needs two stores");
  auto outer = co_await asio::this_coro::executor;
  auto strand = asio::make_strand(outer);
  auto e =
      std::make_shared<engine>(strand, outer, std::move(src), std::move(dst), std::move(options));
  co_return co_await asio::co_spawn(strand, walk(*e), asio::use_awaitable);
}

}  // namespace

awaitable<copy_result> copy(std::shared_ptr<store> src, std::string src_ref,
                            std::shared_ptr<store> dst, std::string dst_ref, copy_options options) {
  co_return co_await on_engine(std::move(src), std::move(dst), std::move(options), [&](engine& e) {
    return e.run(std::move(src_ref), std::move(dst_ref));
  });
}

awaitable<copy_result> copy_graph(std::shared_ptr<store> src, descriptor root,
                                  std::shared_ptr<store> dst, copy_options options) {
  co_return co_await on_engine(std::move(src), std::move(dst), std::move(options),
                               [&](engine& e) { return e.run_graph(std::move(root)); });
}

void start_copy(asio::any_io_executor ex, diagnostics* d,
                asio::any_completion_handler<void(error_code, copy_result)> handler,
                std::shared_ptr<store> src, std::string src_ref, std::shared_ptr<store> dst,
                std::string dst_ref, copy_options options) {
  // (copy makes its own strand, for the walk; its transfers run on `ex`.)
  coras::detail::spawn(ex,
                       copy(std::move(src), std::move(src_ref), std::move(dst), std::move(dst_ref),
                            std::move(options)),
                       std::move(handler), d);
}

void start_copy_graph(asio::any_io_executor ex, diagnostics* d,
                      asio::any_completion_handler<void(error_code, copy_result)> handler,
                      std::shared_ptr<store> src, descriptor root, std::shared_ptr<store> dst,
                      copy_options options) {
  coras::detail::spawn(
      ex, copy_graph(std::move(src), std::move(root), std::move(dst), std::move(options)),
      std::move(handler), d);
}

}  // namespace coras::copy

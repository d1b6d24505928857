// A pull-through cache's seam (registry_options::upstream, declared in
// <coras/server/upstream.hpp>): the storage as a `content_sink`, the
// dispatcher's decisions to ask the upstream (absent manifests and blobs,
// stale tags), listings passed through, writes refused, and GET /metrics.
// The upstream itself (how it fetches) is the mirror layer's.
#include "server/pending.hpp"
#include "server/storage.hpp"

#include <coras/http/fields.hpp>

#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <limits>

namespace coras::server::detail {
namespace {

namespace asio = boost::asio;

// Mirror fetches are no client's upload: no quota, and never swept while a
// fetch holds them (busy).
upload_limits unlimited() {
  upload_limits l;
  l.max_sessions = std::numeric_limits<std::size_t>::max();
  l.max_sessions_per_repository = std::numeric_limits<std::size_t>::max();
  l.max_bytes = std::numeric_limits<std::uint64_t>::max();
  l.max_bytes_per_repository = std::numeric_limits<std::uint64_t>::max();
  l.idle_timeout = std::chrono::hours(24 * 365);
  return l;
}

class storage_writer final : public content_sink::blob_writer {
 public:
  storage_writer(std::shared_ptr<storage> store, std::shared_ptr<upload> session)
      : store_(std::move(store)), session_(std::move(session)) {
    session_->try_acquire();
    readable_ = session_->keep_readable();
  }
  ~storage_writer() override {
    if (!ended_) store_->drop_upload(session_->id());
  }
  bool append(std::string_view bytes) override { return !ended_ && session_->append(bytes); }
  bool commit(const digest& expected) override {
    if (ended_) return false;
    ended_ = true;  // the session leaves the storage's map either way
    return store_->commit_upload(session_, expected) == storage::commit_status::committed;
  }
  // The session (its file, or its bytes in memory) lives as long as this
  // writer: committed, it reads what became the blob.
  std::size_t read_at(std::uint64_t offset, std::span<char> out) override {
    return readable_ ? session_->read_at(offset, out) : 0;
  }
  bool readable() const noexcept { return readable_; }

 private:
  std::shared_ptr<storage> store_;
  std::shared_ptr<upload> session_;
  bool readable_ = false;
  bool ended_ = false;
};

class storage_sink final : public content_sink {
 public:
  explicit storage_sink(std::shared_ptr<storage> store) : store_(std::move(store)) {}

  std::unique_ptr<blob_writer> begin_blob(std::string_view repository) override {
    auto session = store_->start_upload(repository, limits_);
    if (!session) return nullptr;
    auto writer = std::make_unique<storage_writer>(store_, std::move(session));
    // A writer whose bytes cannot be read back is no store for a mirror's
    // clients behind its window: none (the mirror then keeps them in memory).
    if (!writer->readable()) return nullptr;
    return writer;
  }

  bool put_manifest(std::string_view repository, std::string_view media_type,
                    std::shared_ptr<const std::string> bytes, const digest& d, std::string_view tag,
                    std::string* why) override {
    std::string problem;
    auto facts = analyze_manifest(media_type, *bytes, &problem);
    if (!facts) {
      if (why) *why = problem;
      return false;
    }
    if (const auto actual = digest::of(*bytes, d.algorithm()); actual != d) {
      if (why) *why = "manifest digest is " + actual.str() + ", not " + d.str();
      return false;
    }
    try {
      store_->put_manifest(repository, d, std::move(bytes), *facts, tag);
    } catch (const std::exception& e) {
      if (why) *why = e.what();
      return false;
    }
    return true;
  }

  bool has_manifest(std::string_view repository, std::string_view reference) override {
    return store_->find_manifest(repository, reference).has_value();
  }

  bool remove_blob(std::string_view repository, const digest& d) override {
    return store_->delete_blob(repository, d);
  }

 private:
  std::shared_ptr<storage> store_;
  upload_limits limits_ = unlimited();
};

// The header names an upstream answer may carry, as literals (reply::headers
// keeps names as views).
constexpr std::string_view answer_headers[] = {"Link", "Retry-After", "OCI-Filters-Applied"};

void apply(reply& out, const upstream_answer& a) {
  registry_errc code;
  if (!a.code.empty() && parse_registry_errc(a.code, code))
    set_error(out, code, a.message, a.status);
  else
    set_text(out, a.status, a.body, a.content_type);
  for (const auto& [name, value] : a.headers)
    for (auto known : answer_headers)
      if (coras::http::iequals(name, known)) out.set(known, value);
}

}  // namespace

std::shared_ptr<content_sink> make_storage_sink(std::shared_ptr<storage> store) {
  return std::make_shared<storage_sink>(std::move(store));
}

struct upstream_pending final : pending {
  enum class kind { manifest, blob, tags, referrers } what;
  dispatcher* self;
  std::string query;  // tags: the query string; referrers: the artifactType filter

  upstream_pending(kind k, dispatcher* d, std::string q = {})
      : what(k), self(d), query(std::move(q)) {}

  asio::awaitable<void> complete(exchange& ex) override {
    auto up = self->upstream_;
    auto& out = ex.out;
    out = reply{};
    const auto name = ex.where.name;
    switch (what) {
      case kind::manifest: {
        auto answer = co_await up->async_fetch_manifest(name, ex.where.reference, self->sink_);
        if (answer) {
          apply(out, *answer);
          break;
        }
        ex.upstream_done = true;
        self->handle_manifest(ex, boost::urls::params_view());  // a GET/HEAD: no ?tag=
        break;
      }
      case kind::blob: {
        const auto d = digest::parse(ex.where.reference);
        auto opened = co_await up->async_open_blob(name, d, self->sink_);
        if (opened.answer) {
          apply(out, *opened.answer);
          break;
        }
        if (!opened.body) {  // stored meanwhile
          ex.upstream_done = true;
          self->handle_blob(ex);
          break;
        }
        if (!self->blob_reply(ex, d, opened.body->size())) break;
        out.stream = std::move(opened.body);
        break;
      }
      case kind::tags: apply(out, co_await up->async_list_tags(name, query)); break;
      case kind::referrers: {
        const auto d = digest::parse(ex.where.reference);
        apply(out, co_await up->async_referrers(name, d, query));
        break;
      }
    }
    if (ex.head.method == verb::head) out.head_only = true;
    out.later.reset();
  }
};

bool dispatcher::handle_metrics(exchange& ex, std::string_view path) {
  if (!upstream_ || path != "/metrics") return false;
  if (!is_read(ex.head.method)) {
    set_error(ex.out, registry_errc::unsupported);
    return true;
  }
  set_text(ex.out, 200, upstream_->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  ex.out.head_only = ex.head.method == verb::head;
  return true;
}

bool dispatcher::handle_upstream(exchange& ex, const boost::urls::params_view& params) {
  const auto method = ex.head.method;
  switch (ex.where.kind) {
    case route_kind::manifest:
    case route_kind::blob:
    case route_kind::upload_start:
    case route_kind::upload:
      if (is_read(method) && ex.where.kind != route_kind::upload) return false;
      if (auto refusal = upstream_->refuse_write(ex.where.name)) {
        apply(ex.out, *refusal);
        return true;
      }
      return false;
    case route_kind::tags_list: {
      if (method != verb::get) return false;
      auto parsed = boost::urls::parse_origin_form(ex.head.target);
      ex.out.later = std::make_shared<upstream_pending>(
          upstream_pending::kind::tags, this,
          parsed ? std::string(parsed->encoded_query()) : std::string());
      return true;
    }
    case route_kind::referrers: {
      if (method != verb::get || !options_.referrers_api) return false;
      std::string why;
      if (!digest::try_parse(ex.where.reference, &why)) {
        set_error(ex.out, registry_errc::digest_invalid, why);
        return true;
      }
      ex.out.later = std::make_shared<upstream_pending>(upstream_pending::kind::referrers, this,
                                                        param(params, "artifactType").value_or(""));
      return true;
    }
    default: return false;
  }
}

bool dispatcher::manifest_from_upstream(exchange& ex, bool by_digest) {
  if (ex.upstream_done) return false;
  const auto& name = ex.where.name;
  const auto& ref = ex.where.reference;
  if (by_digest) {
    if (store_->has_manifest(name, digest::parse(ref))) return false;
  } else if (upstream_->tag_fresh(name, ref) && store_->find_manifest(name, ref)) {
    return false;
  }
  ex.out.later = std::make_shared<upstream_pending>(upstream_pending::kind::manifest, this);
  return true;
}

bool dispatcher::blob_from_upstream(exchange& ex, const digest& d) {
  if (ex.upstream_done) return false;
  if (auto b = store_->find_blob(ex.where.name, d)) {
    if (ex.head.method == verb::get) upstream_->served_from_store(ex.where.name, d, b->size);
    return false;
  }
  ex.out.later = std::make_shared<upstream_pending>(upstream_pending::kind::blob, this);
  return true;
}

}  // namespace coras::server::detail

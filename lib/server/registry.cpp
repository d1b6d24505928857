// The public `server::registry`: binding, the accept loop (connection limit,
// eviction of idle connections), stop, and the test hooks. Each accepted
// connection is served by connection.cpp; every decision about a request is
// the dispatcher's (handler.hpp).
#include "detail/strand.hpp"
#include "server/registry_impl.hpp"

#include <coras/server/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <deque>
#include <mutex>
#include <stdexcept>

namespace coras::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using detail::impl_ptr;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> accept_loop(impl_ptr self) {
  for (;;) {
    auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
    if (self->stopping || !self->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      co_await detail::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ++self->hooks.connections;
    if (!self->make_room()) {
      // Every slot is busy with a request: refuse promptly rather than queue.
      ++self->hooks.connections_refused;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(self->strand, detail::session(self, std::move(socket)), asio::detached);
  }
}

}  // namespace

detail::registry_impl::registry_impl(asio::any_io_executor ex, registry_options opts)
    : executor(std::move(ex)),
      strand(coras::detail::make_strand(executor)),
      options(std::move(opts)),
      store(options.storage ? options.storage : std::make_shared<server::storage>(options.root)),
      hooks(options.request_log_capacity),
      dispatch(options, store, hooks),
      acceptor(strand) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty())
    throw std::invalid_argument("TLS needs both a certificate file and a key file");
  if (!options.tls_cert_file.empty()) {
    tls.emplace(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    tls->use_certificate_chain_file(options.tls_cert_file.string());
    tls->use_private_key_file(options.tls_key_file.string(), asio::ssl::context::pem);
  }
}

void detail::registry_impl::stop_listening() {
  std::lock_guard lock(listen_mutex);
  if (listen_fd >= 0) ::shutdown(listen_fd, SHUT_RDWR);
}

void detail::registry_impl::close_all() {
  stopping = true;
  boost::system::error_code ec;
  {
    std::lock_guard lock(listen_mutex);
    listen_fd = -1;
    acceptor.close(ec);
  }
  for (auto& [s, state] : connections) s->close();
}

void detail::registry_impl::set_waiting(beast::tcp_stream& s, bool waiting) {
  auto it = connections.find(&s);
  if (it == connections.end()) return;
  it->second.waiting = waiting;
  it->second.since = std::chrono::steady_clock::now();
}

bool detail::registry_impl::make_room() {
  if (connections.size() < options.max_connections) return true;
  beast::tcp_stream* oldest = nullptr;
  std::chrono::steady_clock::time_point since{};
  for (auto& [s, state] : connections) {
    if (state.waiting && (!oldest || state.since < since)) {
      oldest = s;
      since = state.since;
    }
  }
  if (!oldest) return false;
  connections.erase(oldest);  // no longer counted; its coroutine ends on the close
  oldest->close();
  ++hooks.connections_evicted;
  return true;
}

registry::registry(boost::asio::any_io_executor executor, registry_options options)
    : impl_(std::make_shared<detail::registry_impl>(std::move(executor), std::move(options))) {}

registry::~registry() { stop(); }

void registry::start() {
  auto& self = *impl_;
  const tcp::endpoint ep(asio::ip::make_address(self.options.address), self.options.port);
  self.acceptor.open(ep.protocol());
  self.acceptor.set_option(tcp::acceptor::reuse_address(true));
  self.acceptor.bind(ep);
  self.acceptor.listen(asio::socket_base::max_listen_connections);
  {
    std::lock_guard lock(self.listen_mutex);
    self.listen_fd = self.acceptor.native_handle();
  }
  const auto bound = self.acceptor.local_endpoint();
  self.port = bound.port();
  const auto addr = bound.address().to_string();
  self.host =
      (bound.address().is_v6() ? "[" + addr + "]" : addr) + ":" + std::to_string(bound.port());
  self.dispatch.set_default_host(self.host);
  asio::co_spawn(self.strand, accept_loop(impl_), asio::detached);
}

void registry::stop() {
  impl_->stop_listening();
  asio::dispatch(impl_->strand, [self = impl_] { self->close_all(); });
}

std::uint16_t registry::port() const noexcept { return impl_->port; }
std::string registry::host() const { return impl_->host; }
std::string registry::url() const { return (impl_->tls ? "https://" : "http://") + impl_->host; }
std::shared_ptr<server::storage> registry::storage() const { return impl_->store; }
boost::asio::any_io_executor registry::get_executor() const noexcept { return impl_->executor; }

registry_stats registry::stats() const noexcept {
  registry_stats s;
  s.connections_accepted = impl_->hooks.connections.load();
  s.tls_handshakes = impl_->hooks.handshakes.load();
  s.requests = impl_->hooks.requests.load();
  s.connections_evicted = impl_->hooks.connections_evicted.load();
  s.connections_refused = impl_->hooks.connections_refused.load();
  s.faults_injected = impl_->hooks.faults_taken.load();
  return s;
}

void registry::reset_stats() noexcept {
  impl_->hooks.connections = 0;
  impl_->hooks.handshakes = 0;
  impl_->hooks.requests = 0;
  impl_->hooks.connections_evicted = 0;
  impl_->hooks.connections_refused = 0;
  impl_->hooks.faults_taken = 0;
}

std::vector<request_record> registry::recent_requests() const { return impl_->hooks.log(); }
void registry::clear_request_log() { impl_->hooks.clear_log(); }

void registry::cut_blob_gets(std::uint64_t after_bytes, unsigned count) {
  impl_->hooks.cut_blob_gets(std::deque<std::uint64_t>(count, after_bytes));
}
void registry::cut_blob_gets(std::vector<std::uint64_t> offsets) {
  impl_->hooks.cut_blob_gets(std::deque<std::uint64_t>(offsets.begin(), offsets.end()));
}
void registry::inject_status(status_fault fault) {
  impl_->hooks.set_status_fault(std::move(fault));
}
void registry::inject_delay(delay_fault fault) { impl_->hooks.set_delay_fault(std::move(fault)); }
void registry::redirect_blob_gets(std::string base_url) {
  impl_->hooks.set_redirect(std::move(base_url));
}
void registry::inject_headers(header_fault fault) {
  impl_->hooks.set_header_fault(std::move(fault));
}
void registry::cut_uploads(std::uint64_t after_bytes, unsigned count) {
  impl_->hooks.cut_uploads(std::deque<std::uint64_t>(count, after_bytes));
}
void registry::cut_uploads(std::vector<std::uint64_t> offsets) {
  impl_->hooks.cut_uploads(std::deque<std::uint64_t>(offsets.begin(), offsets.end()));
}
std::size_t registry::drop_upload_sessions() { return impl_->store->drop_uploads(); }
void registry::corrupt_blob_gets(unsigned count) { impl_->hooks.corrupt_blob_gets(count); }
void registry::reset_tls_handshakes(unsigned count) { impl_->hooks.reset_tls_handshakes(count); }
void registry::clear_faults() { impl_->hooks.clear_faults(); }

}  // namespace coras::server

#include "support.hpp"

#include <coras/core/digest.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <poll.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

namespace coras::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Every operation gets this long before the client gives up, so a broken
// server fails a test instead of hanging it.
constexpr auto op_timeout = std::chrono::seconds(20);

}  // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) return v;
  return {};
}

bool http_response::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) return true;
  return false;
}

struct http_client::impl {
  std::uint16_t port;
  bool tls;
  asio::io_context ioc;
  asio::ssl::context ssl_ctx{asio::ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<asio::ssl::stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  unsigned opened = 0;

  impl(std::uint16_t p, bool t) : port(p), tls(t) {
    ssl_ctx.set_verify_mode(asio::ssl::verify_none);
  }

  beast::tcp_stream& lowest() { return tls ? secure->next_layer() : *plain; }
  bool is_open() {
    return tls ? secure && secure->next_layer().socket().is_open()
               : plain && plain->socket().is_open();
  }

  // Runs the io_context until the posted operation completed.
  void run() {
    ioc.restart();
    ioc.run();
  }

  void connect() {
    close();
    buffer.clear();
    beast::tcp_stream s(ioc);
    s.expires_after(op_timeout);
    boost::system::error_code ec;
    s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                    [&](boost::system::error_code e) { ec = e; });
    run();
    if (ec) throw std::runtime_error("connect: " + ec.message());
    ++opened;
    if (!tls) {
      plain.emplace(std::move(s));
      return;
    }
    secure.emplace(std::move(s), ssl_ctx);
    secure->next_layer().expires_after(op_timeout);
    secure->async_handshake(asio::ssl::stream_base::client,
                            [&](boost::system::error_code e) { ec = e; });
    run();
    if (ec) throw std::runtime_error("TLS handshake: " + ec.message());
  }

  void close() {
    if (plain) plain->close();
    if (secure) secure->next_layer().close();
    plain.reset();
    secure.reset();
  }

  template <class Stream>
  http_response exchange(Stream& s, http::request<http::string_body>& req, bool head) {
    http_response out;
    boost::system::error_code ec;
    lowest().expires_after(op_timeout);
    http::async_write(s, req, [&](boost::system::error_code e, std::size_t) { ec = e; });
    run();
    if (ec) {  // e.g. the server closed mid-body: the connection is unusable
      out.error = "write: " + ec.message();
      out.complete = false;
      close();
      return out;
    }
    std::optional<http::response_parser<http::string_body>> p;
    do {  // interim responses (100 Continue) come first
      p.emplace();
      p->body_limit(std::uint64_t{1} << 31);
      if (head) p->skip(true);
      lowest().expires_after(op_timeout);
      http::async_read(s, buffer, *p, [&](boost::system::error_code e, std::size_t) { ec = e; });
      run();
    } while (!ec && p->get().result_int() / 100 == 1);
    auto& parser = *p;
    if (parser.is_header_done()) {
      const auto& res = parser.get();
      out.status = res.result_int();
      for (const auto& f : res) out.headers.emplace_back(f.name_string(), f.value());
      out.body = res.body();
    }
    if (ec) {
      out.error = "read: " + ec.message();
      out.complete = false;
      close();
    } else if (!parser.get().keep_alive()) {
      close();
    }
    return out;
  }
};

http_client::http_client(std::uint16_t port, bool tls) : impl_(std::make_unique<impl>(port, tls)) {}
http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;

unsigned http_client::connections_opened() const noexcept { return impl_->opened; }
void http_client::close() { impl_->close(); }

http_response http_client::request(std::string_view method, std::string_view target,
                                   const header_list& headers, std::string_view body,
                                   bool chunked) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  bool has_host = false;
  for (const auto& [k, v] : headers) {
    req.insert(k, v);
    has_host = has_host || iequal(k, "Host");
  }
  if (!has_host) req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  req.body() = body;
  if (chunked)
    req.chunked(true);
  else if (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH")
    req.content_length(body.size());
  if (!impl_->is_open()) impl_->connect();
  const bool head = method == "HEAD";
  return impl_->tls ? impl_->exchange(*impl_->secure, req, head)
                    : impl_->exchange(*impl_->plain, req, head);
}

void get_and_reset(std::uint16_t port, std::string_view target, std::size_t read_bytes) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string buf(read_bytes, '\0');
  asio::read(s, asio::buffer(buf));
  s.set_option(asio::socket_base::linger(true, 0));
  s.close();
}

raw_reply send_raw(std::uint16_t port, std::string_view bytes, std::chrono::milliseconds wait) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(bytes));
  raw_reply out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char chunk[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;  // still open
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    boost::system::error_code ec;
    const std::size_t n = s.read_some(asio::buffer(chunk), ec);
    if (ec) {  // EOF or reset: closed by the server
      out.closed = true;
      return out;
    }
    out.bytes.append(chunk, n);
  }
}

// ---- running_registry ----

struct running_registry::loop {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
};

running_registry::running_registry(server::registry_options options)
    : loop_(std::make_unique<loop>()), tls_(!options.tls_cert_file.empty()) {
  registry_ = std::make_unique<server::registry>(loop_->ioc.get_executor(), std::move(options));
  registry_->start();
  loop_->thread = std::thread([l = loop_.get()] { l->ioc.run(); });
}

running_registry::~running_registry() {
  registry_->stop();
  loop_->guard.reset();
  loop_->thread.join();  // returns once stop() ended every connection
  registry_.reset();
}

// ---- content helpers ----

void write_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!pkey || !x) throw std::runtime_error("cannot make a key");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, pkey, EVP_sha256());
  FILE* f = std::fopen(cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

std::string sha256(std::string_view data) { return digest::of(data).str(); }

std::string push_blob(http_client& c, std::string_view repo, std::string_view data,
                      const header_list& headers) {
  const auto d = sha256(data);
  auto r =
      c.request("POST", "/v2/" + std::string(repo) + "/blobs/uploads/?digest=" + d, headers, data);
  if (r.status != 201)
    throw std::runtime_error("push_blob: status " + std::to_string(r.status) + ": " + r.body);
  return d;
}

http_response put_manifest(http_client& c, std::string_view repo, std::string_view reference,
                           std::string_view json, std::string_view media_type,
                           const header_list& headers) {
  header_list h = headers;
  h.emplace_back("Content-Type", std::string(media_type));
  return c.request("PUT", "/v2/" + std::string(repo) + "/manifests/" + std::string(reference), h,
                   json);
}

std::string image_manifest_json(const blob_ref& config, const std::vector<blob_ref>& layers,
                                std::string_view artifact_type, const blob_ref* subject,
                                std::string_view annotations, std::string_view config_media_type) {
  std::string s = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json")";
  if (!artifact_type.empty()) s += R"(,"artifactType":")" + std::string(artifact_type) + '"';
  s += R"(,"config":{"mediaType":")" + std::string(config_media_type) + R"(","digest":")" +
       config.digest + R"(","size":)" + std::to_string(config.size) + "}";
  s += R"(,"layers":[)";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (i) s += ',';
    s += R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + layers[i].digest +
         R"(","size":)" + std::to_string(layers[i].size) + "}";
  }
  s += ']';
  if (subject)
    s += R"(,"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         subject->digest + R"(","size":)" + std::to_string(subject->size) + "}";
  if (!annotations.empty()) s += R"(,"annotations":)" + std::string(annotations);
  s += '}';
  return s;
}

std::string basic(std::string_view user, std::string_view password) {
  const std::string raw = std::string(user) + ':' + std::string(password);
  std::string out((raw.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

std::size_t rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  throw std::runtime_error("no VmRSS in /proc/self/status");
}

long fresh_v2_ms(std::uint16_t port, const header_list& headers) {
  const auto start = std::chrono::steady_clock::now();
  http_client c(port);
  const auto r = c.get("/v2/", headers);
  if (r.status == 0) return -1;
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count());
}

}  // namespace coras::test

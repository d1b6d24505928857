// What goes into the dispatcher and what comes out, without sockets: the
// parts of a request head it reads (`request_head`), and the response it
// decides (`reply`), which the I/O layer (connection.cpp) renders and writes.
#pragma once

#include <coras/server/registry.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::server {
class body_stream;
}

namespace coras::server::detail {

struct pending;  // pending.hpp

enum class verb { get, head, post, put, patch, delete_, other };

/// What the dispatcher needs of a request head. The views point into the
/// parser's header, which outlives the exchange.
struct request_head {
  verb method = verb::other;
  std::string_view method_name;  // as sent, e.g. "GET"
  std::string_view target;
  std::string_view host;
  std::string_view authorization;
  std::string_view content_type;
  std::string_view content_range;
  std::string_view range;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool tls = false;

  bool has_body() const noexcept { return chunked || (content_length && *content_length > 0); }
};

struct header {
  std::string_view name;  // always a literal
  std::string value;
};

/// A response, written by connection.cpp. The body is `text`, or `length` bytes
/// at `offset` of `memory`, of `file` or of `stream` (a blob still arriving
/// from an upstream). With `later` set, the response is not decided yet: the
/// I/O layer co_awaits `later->complete` (an upstream fetch) first.
struct reply {
  unsigned status = 200;
  std::vector<header> headers;
  std::string text;
  std::shared_ptr<const std::string> memory;
  std::filesystem::path file;
  std::shared_ptr<server::body_stream> stream;
  std::shared_ptr<pending> later;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool head_only = false;  // HEAD: announce the body's length, send no body
  bool close = false;      // close the connection after this response
  bool drop = false;       // send nothing, close the connection (an upload cut)

  // Faults chosen for this response.
  std::chrono::milliseconds delay{0};  // before the headers
  std::chrono::milliseconds stall{0};  // after half the body (blob bodies)
  std::optional<std::uint64_t> cut_after;
  // Header names and values of a header fault are arbitrary, unlike `headers`'
  // literal names: the I/O layer applies the fault while rendering the head.
  std::optional<header_fault> header_edits;

  bool has_blob_body() const noexcept { return memory || !file.empty() || stream; }
  std::uint64_t body_size() const noexcept { return has_blob_body() ? length : text.size(); }
  void set(std::string_view name, std::string value) {
    headers.push_back({name, std::move(value)});
  }
};

}  // namespace coras::server::detail

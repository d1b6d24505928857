// The client's HTTP response parser: Beast's basic_parser (the grammar, the
// framing, the limits) with the header fields written straight into
// coras::http::fields and the body into the caller's buffer. Beast's own
// response_parser would first build its field list (an allocation a field
// and one for the reason phrase) that the client then copies. Used by
// exchange.cpp and by the fuzz target fuzz/http_response.cpp, which parses
// exactly as the client does.
#pragma once

#include <coras/http/fields.hpp>

#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <cstdint>

namespace coras::http::detail {

/// The largest response head (status line and fields) the client reads.
inline constexpr std::size_t response_header_limit = 64 * 1024;

class response_parser final : public boost::beast::http::basic_parser<false> {
 public:
  /// A parser with the client's limits: response_header_limit for the
  /// head; no body limit (bodies are streamed, callers set their own, as
  /// response::read_all does); no body at all when `head_request`.
  explicit response_parser(bool head_request = false);

  /// The status code, once the status line is parsed.
  unsigned status() const noexcept { return status_; }
  /// The fields, in order, as received (values without surrounding OWS).
  http::fields& fields() noexcept { return fields_; }

  /// Where the next body bytes go: a read fills [data, data + size) and
  /// stops with `need_buffer` when it is full (as Beast's buffer_body).
  void body_buffer(void* data, std::size_t size) noexcept {
    body_ = static_cast<char*>(data);
    room_ = size;
  }
  /// The bytes of the body buffer not yet filled.
  std::size_t body_room() const noexcept { return room_; }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  std::size_t take_body(string_view body, error_code& ec) noexcept;

  unsigned status_ = 0;
  http::fields fields_;
  char* body_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace coras::http::detail

#include "response_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace coras::http::detail {
namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

response_parser::response_parser(bool head_request) {
  // Room for a registry's usual head (docker-registry sends 7 fields, about
  // 300 characters): the fields are then two allocations, not a dozen.
  fields_.reserve(12, 512);
  header_limit(response_header_limit);
  body_limit(boost::none);
  if (head_request) skip(true);
}

void response_parser::on_request_impl(bhttp::verb, string_view, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_method;  // never called: this parser reads responses
}

void response_parser::on_response_impl(int code, string_view, int, error_code&) {
  // The reason phrase is obsolete (RFC 9112) and not kept.
  status_ = static_cast<unsigned>(code);
}

void response_parser::on_field_impl(bhttp::field, string_view name, string_view value,
                                    error_code&) {
  // Optional whitespace around the value is not part of it (as Beast's field
  // list trims it).
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && ows(value.back())) value.remove_suffix(1);
  fields_.add(std::string_view(name.data(), name.size()),
              std::string_view(value.data(), value.size()));
}

void response_parser::on_header_impl(error_code&) {}

void response_parser::on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) {}

std::size_t response_parser::take_body(string_view body, error_code& ec) noexcept {
  if (!body_) {
    ec = bhttp::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(room_, body.size());
  if (n > 0) std::memcpy(body_, body.data(), n);
  body_ += n;
  room_ -= n;
  if (n < body.size()) ec = bhttp::error::need_buffer;
  return n;
}

std::size_t response_parser::on_body_impl(string_view body, error_code& ec) {
  return take_body(body, ec);
}

void response_parser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t response_parser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return take_body(body, ec);
}

void response_parser::on_finish_impl(error_code&) {}

}  // namespace coras::http::detail

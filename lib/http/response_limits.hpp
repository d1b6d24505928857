// How the client reads a response's head: the limits its Beast parser gets
// (lib/http/exchange.cpp). In a header of its own so the fuzz target
// fuzz/http_response.cpp parses with exactly these limits.
#pragma once

#include <boost/beast/http/parser.hpp>

#include <cstddef>

namespace coras::http::detail {

/// The largest response head (status line and fields) the client reads.
inline constexpr std::size_t response_header_limit = 64 * 1024;

/// Sets `parser` up as the client does before reading a response head: the
/// head limit; no body limit (bodies are streamed, callers set their own, as
/// response::read_all does); no body at all for a HEAD.
template <class Body, class Allocator>
void limit_response_parser(boost::beast::http::response_parser<Body, Allocator>& parser,
                           bool head_request) {
  parser.header_limit(response_header_limit);
  parser.body_limit(boost::none);
  if (head_request) parser.skip(true);
}

}  // namespace coras::http::detail

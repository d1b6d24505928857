// An HTTP/1.1 response (status line, fields, a Content-Length, chunked or
// close-delimited body) read the way the client reads it: the client's own
// parser with its limits (lib/http/response_parser.hpp), the bytes arriving
// in pieces, the body streamed into a caller's buffer as response::read_all
// does with its limit.
//
// The first input byte picks: bit 0 a HEAD request; bit 1 a filler field
// that takes the head near or past the 64 KiB limit; bits 2-3 the read_all
// limit; bits 4-7 the size of the network's pieces. The rest is the bytes.
//
// Invariants: a head past twice response_header_limit is refused (see below); a body is never
// collected past the read_all limit (+1, the byte that tells "over"); a body
// with a Content-Length that completes has exactly that many bytes; a HEAD
// answer has no body; every field the client keeps has a name, a value
// without surrounding whitespace, and is found by its name; and the header
// values it interprets later parse without surprises.
#include "fuzz.hpp"

#include "http/grammar.hpp"
#include "http/protocol.hpp"
#include "http/response_parser.hpp"

#include <coras/http/fields.hpp>

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <string>

using coras::fuzz::require;
namespace bhttp = boost::beast::http;
using coras::http::detail::response_header_limit;

CORAS_FUZZ_TARGET {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const bool head = flags & 1;
  std::string wire(coras::fuzz::text(data + 1, size - 1));
  if (flags & 2) {
    // A filler field right after the status line, sized so that the head
    // ends just under, at or just over the limit depending on the rest.
    const auto eol = wire.find("\r\n");
    if (eol != std::string::npos) {
      const std::size_t filler = response_header_limit - 64 + (flags >> 4) * 8;
      wire.insert(eol + 2, "X-Filler: " + std::string(filler, 'f') + "\r\n");
    }
  }
  constexpr std::uint64_t limits[] = {0, 1, 100, 4096};
  const std::uint64_t limit = limits[(flags >> 2) & 3];
  const std::size_t piece = 1 + ((flags >> 4) & 15) * 37;

  coras::http::detail::response_parser parser(head);
  parser.eager(false);

  // The head, piece by piece (async_read_header); interim 1xx heads (but
  // 101) are skipped with a fresh parser, as the client does.
  std::size_t fed = 0;    // bytes of `wire` the network has delivered
  std::size_t taken = 0;  // bytes the parser consumed
  boost::system::error_code ec;
  std::size_t head_start = 0;  // where the head being read began
next_head:
  while (!parser.is_header_done()) {
    taken += parser.put(boost::asio::buffer(wire.data() + taken, fed - taken), ec);
    if (ec == bhttp::error::need_more)
      ec = {};
    else if (ec)
      return 0;  // refused; header_limit among the reasons
    if (parser.is_header_done()) break;
    if (fed == wire.size()) return 0;  // the connection closed before a head
    fed = std::min(wire.size(), fed + piece);
  }
  // Beast 1.81 applies header_limit to the start line and to the fields
  // separately when both are in one read (basic_parser::put parses the
  // fields against min(header_limit, what follows the start line)), so a
  // head may reach the start line's length plus the limit; the start line
  // is itself held to the limit. Found by this target: the bound checked is
  // the one Beast keeps, twice the limit.
  require(taken - head_start <= 2 * response_header_limit, "a head past twice the limit is refused",
          std::to_string(taken - head_start));

  if (const unsigned code = parser.status(); code >= 100 && code <= 199 && code != 101) {
    head_start = taken;
    std::destroy_at(&parser);
    std::construct_at(&parser, head);
    parser.eager(false);
    goto next_head;
  }

  // The head as the client keeps it.
  const unsigned status = parser.status();
  require(status <= 999, "a status has three digits", std::to_string(status));
  const coras::http::fields& fields = parser.fields();
  const auto now = std::chrono::system_clock::now();
  for (const auto& f : fields) {
    const auto name = f.name;
    require(!name.empty(), "a field has a name", {});
    require(f.value.empty() || (f.value.front() != ' ' && f.value.front() != '\t' &&
                                f.value.back() != ' ' && f.value.back() != '\t'),
            "a value has no surrounding whitespace", f.value);
    if (coras::http::iequals(name, "Retry-After")) {
      if (auto w = coras::http::detail::parse_retry_after(f.value, now))
        require(*w <= std::chrono::seconds(10'000'000), "Retry-After is capped", f.value);
    } else if (coras::http::iequals(name, "Warning")) {
      (void)coras::http::detail::parse_warning(f.value);
    } else if (coras::http::iequals(name, "Content-Type")) {
      (void)coras::http::grammar::media_type_of(f.value);
    } else if (coras::http::iequals(name, "Content-Range")) {
      (void)coras::http::grammar::parse_content_range(f.value);
    }
    require(fields.get(name).has_value(), "a field is found by its name", name);
  }
  std::optional<std::uint64_t> length;
  if (!head) {
    if (auto cl = parser.content_length()) length = *cl;
  } else if (auto cl = fields.get("Content-Length")) {
    std::uint64_t v = 0;
    auto r = std::from_chars(cl->data(), cl->data() + cl->size(), v);
    if (r.ec == std::errc() && r.ptr == cl->data() + cl->size()) length = v;
  }
  if (head) {
    require(parser.is_done(), "a HEAD answer has no body", {});
    return 0;
  }
  if (length && *length > limit) return 0;  // read_all refuses before reading

  // The body, as read_all: grow from 4 KiB, never more room than limit + 1.
  std::string out;
  std::size_t capacity = length ? static_cast<std::size_t>(*length) : 4096;
  while (!parser.is_done()) {
    const std::size_t old = out.size();
    if (old == capacity) capacity *= 2;
    const std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::max<std::size_t>(capacity - old, 1), limit + 1 - old));
    out.resize(old + room);
    parser.body_buffer(out.data() + old, room);
    // read_some: until something lands in the buffer or the message ends.
    for (;;) {
      taken += parser.put(boost::asio::buffer(wire.data() + taken, fed - taken), ec);
      if (ec == bhttp::error::need_buffer) {
        ec = {};
        break;
      }
      if (ec == bhttp::error::need_more)
        ec = {};
      else if (ec)
        break;
      if (parser.is_done() || parser.body_room() < room) break;
      if (fed == wire.size()) {  // the connection closes
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
        break;
      }
      fed = std::min(wire.size(), fed + piece);
    }
    const std::size_t got = room - parser.body_room();
    out.resize(old + got);
    if (ec) return 0;  // a broken body is an error to the caller
    require(out.size() <= limit + 1, "read_all never holds more than limit + 1", {});
    if (out.size() > limit) return 0;  // size_limit_exceeded
  }
  if (length)
    require(out.size() == *length, "a complete body has its Content-Length",
            std::to_string(out.size()));
  return 0;
}

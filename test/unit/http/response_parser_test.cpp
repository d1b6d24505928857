// The client's response parser (lib/http/response_parser.hpp): Beast's
// grammar and framing, the fields written into coras::http::fields, the
// body into the caller's buffer.
#include "http/response_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace {

namespace bhttp = boost::beast::http;
using coras::http::detail::response_parser;

// Feeds all of `wire` at once; returns the bytes taken and the error.
std::size_t put(response_parser& p, std::string_view wire, boost::system::error_code& ec) {
  return p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
}

}  // namespace

TEST_CASE("http: the response parser keeps the status and the fields in order, trimmed",
          "[http][parser]") {
  response_parser p;
  boost::system::error_code ec;
  std::string_view wire =
      "HTTP/1.1 404 Not Found\r\n"
      "Content-Type:   application/json \t\r\n"
      "Warning: 299 - \"one\"\r\n"
      "warning: 299 - \"two\"\r\n"
      "X-Empty:\r\n"
      "Content-Length: 2\r\n\r\n";
  auto n = put(p, wire, ec);
  CHECK_FALSE(ec);
  CHECK(n == wire.size());
  REQUIRE(p.is_header_done());
  CHECK(p.status() == 404);
  CHECK(p.keep_alive());
  const auto& f = p.fields();
  CHECK(f.size() == 5);
  CHECK(f.get("content-type") == "application/json");
  CHECK(f.get_all("Warning").size() == 2);
  CHECK(f.get("X-Empty") == "");
  CHECK(p.content_length().value_or(0) == 2);
}

TEST_CASE("http: the response parser fills the body buffer and asks for another when full",
          "[http][parser]") {
  response_parser p;
  boost::system::error_code ec;
  std::string_view head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  put(p, head, ec);
  REQUIRE_FALSE(ec);
  // No buffer yet: the body waits.
  std::string_view body = "0123456789";
  CHECK(put(p, body, ec) == 0);
  CHECK(ec == bhttp::error::need_buffer);
  char first[4];
  p.body_buffer(first, sizeof first);
  ec = {};
  CHECK(put(p, body, ec) == 4);
  CHECK(ec == bhttp::error::need_buffer);
  CHECK(p.body_room() == 0);
  CHECK(std::string_view(first, 4) == "0123");
  char rest[16];
  p.body_buffer(rest, sizeof rest);
  ec = {};
  CHECK(put(p, body.substr(4), ec) == 6);
  CHECK_FALSE(ec);
  CHECK(p.is_done());
  CHECK(std::string_view(rest, sizeof rest - p.body_room()) == "456789");
}

TEST_CASE("http: the response parser reads no body after HEAD, and says Connection: close",
          "[http][parser]") {
  response_parser p(true);
  boost::system::error_code ec;
  put(p, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n", ec);
  CHECK_FALSE(ec);
  CHECK(p.is_done());
  CHECK_FALSE(p.keep_alive());
  CHECK(p.fields().get("Content-Length") == "1234");
}

TEST_CASE("http: the response parser refuses a head past its limit and a broken field",
          "[http][parser][security]") {
  SECTION("a field longer than the head limit") {
    response_parser p;
    boost::system::error_code ec;
    std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " +
                       std::string(coras::http::detail::response_header_limit, 'x') + "\r\n\r\n";
    put(p, wire, ec);
    CHECK(ec == bhttp::error::header_limit);
  }
  SECTION("a field name with a space") {
    response_parser p;
    boost::system::error_code ec;
    put(p, "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", ec);
    CHECK(ec == bhttp::error::bad_field);
  }
}

// A chunked body whose last chunk arrives split ("0\r\n", then the rest):
// Beast 1.81's parse_chunk_header asserted `n >= 5` on the second call where
// four bytes are possible (boostorg/beast#2861, fixed in Boost 1.86), so a
// peer sending its bytes a few at a time aborted any build with assertions
// on: a client reading a response, `coras serve` reading a request. Found by
// fuzz/http_response; lib/boost_impl.cpp compiles Beast without assertions.
#include "http/response_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace {

namespace bhttp = boost::beast::http;

// Feeds `wire` to `parser` one more byte at a time, the way a slow peer's
// reads arrive (each put sees every byte not yet consumed).
template <class Parser>
void feed_bytewise(Parser& parser, std::string_view wire) {
  std::size_t taken = 0;
  for (std::size_t have = 1; have <= wire.size() && !parser.is_done(); ++have) {
    boost::system::error_code ec;
    taken += parser.put(boost::asio::buffer(wire.data() + taken, have - taken), ec);
    if (ec == bhttp::error::need_more) continue;
    REQUIRE_FALSE(ec);
  }
}

}  // namespace

TEST_CASE("http: a chunked body whose last chunk arrives a byte at a time",
          "[http][fuzz][security]") {
  SECTION("a response, through the client's parser") {
    coras::http::detail::response_parser parser;
    char body[16];
    parser.body_buffer(body, sizeof body);
    feed_bytewise(parser,
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\n");
    REQUIRE(parser.is_done());
    CHECK(std::string_view(body, sizeof body - parser.body_room()) == "hello");
  }
  SECTION("an empty body: the first chunk is the last") {
    coras::http::detail::response_parser parser;
    char body[16];
    parser.body_buffer(body, sizeof body);
    feed_bytewise(parser, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    REQUIRE(parser.is_done());
    CHECK(parser.body_room() == sizeof body);
  }
  SECTION("a request, as coras serve reads one") {
    bhttp::request_parser<bhttp::string_body> parser;
    feed_bytewise(parser,
                  "PATCH /v2/r/blobs/uploads/x HTTP/1.1\r\nHost: h\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    REQUIRE(parser.is_done());
  }
}

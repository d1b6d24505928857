// The one translation unit that compiles Boost.Asio and Boost.Beast (built with
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION, see the
// top-level meson.build). Boost.JSON and Boost.URL come compiled from Debian's
// libboost-json1.81 and libboost-url1.81.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
// Beast's compiled part without its assertions. Beast 1.81's
// parse_chunk_header asserts `n >= 5` where a last chunk split after "0\r\n"
// gives it four bytes (boostorg/beast#2861, fixed in Boost 1.86); the code
// after the assertion is right for that case, but with assertions on a peer
// sending a chunked body a few bytes at a time aborted the process (a client
// reading a response, `coras serve` reading a request: found by
// fuzz/http_response, held by test/unit/http/chunked_split_test.cpp). Only
// this translation unit instantiates basic_parser (BOOST_BEAST_SOURCE).
#ifndef NDEBUG
#define NDEBUG
#endif
#include <cassert>
#include <boost/assert.hpp>
#include <boost/beast/src.hpp>

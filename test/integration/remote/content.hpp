// Content helpers shared by the remote layer's integration tests.
#pragma once

#include <coras/remote/blob_reader.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>
#include <string>

namespace coras::test {

/// `n` pseudo-random (incompressible) bytes, the same for the same `seed`.
inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

/// Equal content, compared without printing megabytes of binary on failure.
inline bool same(const std::string& a, const std::string& b) { return a == b; }

/// Reads a blob reader to its verified end in small pieces (the streaming path).
inline boost::asio::awaitable<std::string> read_streamed(remote::blob_reader& r) {
  namespace asio = boost::asio;
  std::string out;
  char buf[1000];
  for (;;) {
    auto [ec, n] =
        co_await r.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) break;
    if (ec) throw boost::system::system_error(ec, r.diag().message());
    out.append(buf, n);
  }
  co_return out;
}

}  // namespace coras::test

// How content reaches files: write_all issues calls of at most
// max_write_call bytes (big calls make big page-cache folios, which were
// slow to fill on a VM that reports free memory to its host; posix_file.hpp).
#include "detail/posix_file.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

using coras::detail::max_write_call;
using coras::detail::write_all;

TEST_CASE("write_all: a large write goes out in calls of at most max_write_call bytes",
          "[content][files]") {
  // A SOCK_SEQPACKET socket keeps each write(2) one message, so the reader
  // sees the size of every call (and a call larger than the socket's buffer
  // fails with EMSGSIZE instead of being split).
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) == 0);
  std::string sent(3 * max_write_call + 12'345, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 131 % 251);

  std::vector<std::size_t> calls;
  std::string received;
  std::thread reader([&] {
    std::vector<char> buffer(4 * max_write_call);
    for (;;) {
      const auto n = ::recv(fds[1], buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      calls.push_back(static_cast<std::size_t>(n));
      received.append(buffer.data(), static_cast<std::size_t>(n));
    }
  });
  write_all(fds[0], sent, "the test socket");
  ::close(fds[0]);
  reader.join();
  ::close(fds[1]);

  CHECK(received == sent);
  REQUIRE(calls.size() == 4);
  for (auto n : calls) CHECK(n <= max_write_call);
  CHECK(calls.back() == 12'345);
}

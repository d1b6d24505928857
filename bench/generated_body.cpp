#include "generated_body.hpp"

#include <algorithm>
#include <cstring>

namespace coras::bench_tool {

namespace asio = boost::asio;

namespace {

// xoshiro256** seeded through splitmix64: fast, and incompressible enough
// for any compressor on the path.
struct xoshiro {
  std::uint64_t s[4];
  explicit xoshiro(std::uint64_t seed) {
    for (auto& w : s) {
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

}  // namespace

void generate_block(std::uint64_t seed, std::uint64_t index, std::byte* out) {
  xoshiro rng(seed ^ (index * 0xd1b54a32d192ed03ull));
  for (std::size_t i = 0; i < block_size; i += 8) {
    const std::uint64_t v = rng.next();
    std::memcpy(out + i, &v, 8);
  }
}

digest digest_of_generated(std::uint64_t seed, std::uint64_t size) {
  std::vector<std::byte> block(block_size);
  digester d;
  for (std::uint64_t off = 0, index = 0; off < size; off += block_size, ++index) {
    generate_block(seed, index, block.data());
    d.update(std::span<const std::byte>(
        block.data(), static_cast<std::size_t>(std::min<std::uint64_t>(block_size, size - off))));
  }
  return d.finish();
}

asio::awaitable<std::size_t> generated_body::read(asio::mutable_buffer buffer) {
  co_return fill(buffer);
}

bool generated_body::rewind() {
  offset_ = 0;
  return true;
}

std::size_t generated_body::fill(asio::mutable_buffer buffer) {
  auto* out = static_cast<std::byte*>(buffer.data());
  std::size_t done = 0;
  while (done < buffer.size() && offset_ < size_) {
    const std::uint64_t index = offset_ / block_size;
    if (index != block_index_) {
      generate_block(seed_, index, block_.data());
      block_index_ = index;
    }
    const std::size_t in_block = static_cast<std::size_t>(offset_ % block_size);
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({block_size - in_block, buffer.size() - done, size_ - offset_}));
    std::memcpy(out + done, block_.data() + in_block, n);
    done += n;
    offset_ += n;
  }
  return done;
}

}  // namespace coras::bench_tool

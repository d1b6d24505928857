// Blob content coras-bench generates instead of storing: incompressible
// bytes from a seeded PRNG, made again from the seed whenever they are needed
// (the digest before the clock starts, the body while it is sent), so neither
// side holds K*S bytes.
#pragma once

#include <coras/core/byte_source.hpp>
#include <coras/core/digest.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace coras::bench_tool {

// Content is generated in blocks of this many bytes.
inline constexpr std::size_t block_size = 64 * 1024;

// Block `index` of the content named by `seed`: depends on nothing else, so a
// body can be generated twice (digest first, then while it is sent) and
// rewound for a retry.
void generate_block(std::uint64_t seed, std::uint64_t index, std::byte* out);

// The digest of the `size` bytes the content named by `seed` begins with.
digest digest_of_generated(std::uint64_t seed, std::uint64_t size);

// A request body generated as it is sent.
class generated_body final : public byte_source {
 public:
  generated_body(std::uint64_t seed, std::uint64_t size)
      : seed_(seed), size_(size), block_(block_size) {}

  std::optional<std::uint64_t> size() const override { return size_; }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override;
  bool rewind() override;

 private:
  std::size_t fill(boost::asio::mutable_buffer buffer);

  std::uint64_t seed_;
  std::uint64_t size_;
  std::uint64_t offset_ = 0;
  std::vector<std::byte> block_;
  std::uint64_t block_index_ = ~std::uint64_t{0};
};

}  // namespace coras::bench_tool

// Helpers shared by the content layer's tests: temporary directories, test
// sources with controllable behaviour, reading a source to its end, and a
// small OCI image (config + 2 tar layers + manifest) real tools can unpack.
#pragma once

#include <coras_test/files.hpp>
#include <coras_test/random_bytes.hpp>
#include <coras_test/remote_content.hpp>
#include <coras_test/run.hpp>
#include <coras_test/temp_dir.hpp>

#include <coras/content/store.hpp>
#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace coras::test {

namespace fs = std::filesystem;

/// Regular files under `dir`, recursively (empty when `dir` is missing).
inline std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

/// A streamed (not contiguous) source with knobs: pieces of `piece` bytes,
/// an optional hop through the executor between pieces (so concurrent
/// coroutines interleave), an optional claimed `verified_digest`, an
/// optional failure after `fail_after` bytes, and a count of reads.
class test_source final : public byte_source {
 public:
  explicit test_source(std::string bytes, std::size_t piece = 64 * 1024)
      : bytes_(std::move(bytes)), piece_(piece) {}

  bool announce_size = true;
  bool yield_between_reads = false;
  std::optional<digest> claimed;
  std::optional<std::size_t> fail_after;
  int reads = 0;

  std::optional<std::uint64_t> size() const override {
    if (!announce_size) return std::nullopt;
    return bytes_.size();
  }
  std::optional<digest> verified_digest() const override { return claimed; }
  boost::asio::awaitable<std::size_t> read(boost::asio::mutable_buffer buffer) override {
    ++reads;
    if (yield_between_reads) {
      auto ex = co_await boost::asio::this_coro::executor;
      co_await boost::asio::post(ex, boost::asio::use_awaitable);
    }
    if (fail_after && offset_ >= *fail_after)
      throw error(errc::invalid_response, "test source: the connection dropped");
    std::size_t n = std::min({buffer.size(), piece_, bytes_.size() - offset_});
    if (n) std::memcpy(buffer.data(), bytes_.data() + offset_, n);
    offset_ += n;
    co_return n;
  }
  bool rewind() override {
    offset_ = 0;
    return true;
  }

 private:
  std::string bytes_;
  std::size_t piece_;
  std::size_t offset_ = 0;
};

/// Reads `src` to its end with a caller buffer of `piece` bytes.
inline boost::asio::awaitable<std::string> read_all(std::shared_ptr<byte_source> src,
                                                    std::size_t piece) {
  std::string out;
  std::vector<char> buf(piece);
  for (;;) {
    std::size_t n = co_await src->read(boost::asio::mutable_buffer(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  co_return out;
}

/// Fetches `d` from `s` and reads it whole (verified by the source).
inline boost::asio::awaitable<std::string> fetch_all(content::store& s, descriptor d) {
  auto src = co_await s.fetch(d);
  auto bytes = co_await read_all(src, 1 << 20);
  co_return bytes;
}

/// The error code `op` fails with, or an empty code when it succeeds.
template <class T>
boost::asio::awaitable<error_code> failure_of(boost::asio::awaitable<T> op) {
  error_code ec;
  try {
    co_await std::move(op);
  } catch (const boost::system::system_error& e) {
    ec = e.code();
  }
  co_return ec;
}

/// A POSIX ustar archive holding one regular file.
inline std::string tar_with_file(const std::string& name, const std::string& content) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(content.size()));
  std::snprintf(h + 136, 12, "%011o", 1700000000);
  std::memset(h + 148, ' ', 8);
  h[156] = '0';
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  std::string out(h, sizeof h);
  out += content;
  out.append((512 - content.size() % 512) % 512, '\0');
  out.append(1024, '\0');
  return out;
}

/// An OCI image: a config and two uncompressed tar layers (one file each)
/// and its manifest, every piece with its bytes.
struct image {
  struct blob {
    descriptor desc;
    std::string bytes;
  };
  blob config;
  std::vector<blob> layers;
  blob manifest;

  std::vector<blob> all() const {
    std::vector<blob> out{config};
    out.insert(out.end(), layers.begin(), layers.end());
    out.push_back(manifest);
    return out;
  }
};

inline image make_image(const std::string& tag_note) {
  image img;
  std::string diff_ids;
  for (int i = 0; i < 2; ++i) {
    auto name = "file" + std::to_string(i) + ".txt";
    auto tar = tar_with_file(name, "layer " + std::to_string(i) + " of " + tag_note + "\n" +
                                       std::string(300 * 1024 * (i + 1), 'x'));
    auto d = descriptor::for_content(media_type::oci_layer, tar);
    diff_ids += (i ? "," : "") + ("\"" + d.digest.str() + "\"");
    img.layers.push_back({d, tar});
  }
  auto config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers",)"
                R"("diff_ids":[)" +
                diff_ids + "]}}";
  img.config = {descriptor::for_content(media_type::oci_config, config), config};
  image_manifest m;
  m.media_type = std::string(media_type::oci_manifest);
  m.config = img.config.desc;
  for (const auto& l : img.layers) m.layers.push_back(l.desc);
  m.annotations["note"] = tag_note;
  auto json = m.to_json();
  img.manifest = {descriptor::for_content(media_type::oci_manifest, json), json};
  return img;
}

/// Pushes every blob of `img` (manifest last) and tags the manifest `tag`.
inline boost::asio::awaitable<void> push_image(content::store& s, const image& img,
                                               std::string tag) {
  for (const auto& b : img.all()) {
    auto src = coras::memory_source(b.bytes);
    co_await s.push(b.desc, src);
  }
  co_await s.tag(img.manifest.desc, tag);
}

/// A referrer of `subject`: an artifact manifest (empty config, one layer).
inline image::blob make_referrer(const descriptor& subject, std::string artifact_type,
                                 std::string note) {
  auto json = artifact_json(subject, std::move(artifact_type), std::move(note));
  return {descriptor::for_content(media_type::oci_manifest, json), json};
}

}  // namespace coras::test

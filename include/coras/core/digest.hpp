/// @file
/// Content digests (`algorithm:hex`), as the OCI image spec defines them.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace coras {

/// The hash functions coras implements (OpenSSL EVP underneath).
enum class digest_algorithm { sha256, sha512 };

/// "sha256" or "sha512".
std::string_view to_string(digest_algorithm a) noexcept;

/// A validated digest such as `sha256:2c26b4…`. Only canonical forms are
/// accepted: a known algorithm and lower-case hex of exactly its length, so two
/// digests of the same content always compare equal as strings.
/// A default-constructed digest is empty (`empty()`); every other value is valid.
class digest {
 public:
  digest() = default;

  /// Parses `s`; throws `coras::error` (errc::invalid_digest or
  /// errc::unsupported_digest) whose what() names the problem and its position.
  static digest parse(std::string_view s);

  /// Non-throwing parse. On failure, `why` (when given) receives the message.
  static boost::system::result<digest> try_parse(std::string_view s, std::string* why = nullptr);

  /// The digest of `bytes` under `a`.
  static digest of(std::span<const std::byte> bytes, digest_algorithm a = digest_algorithm::sha256);
  /// The digest of `bytes` under `a`.
  static digest of(std::string_view bytes, digest_algorithm a = digest_algorithm::sha256);

  /// True for a default-constructed digest.
  bool empty() const noexcept { return str_.empty(); }
  /// The algorithm (`sha256` for an empty digest).
  digest_algorithm algorithm() const noexcept { return algorithm_; }
  /// The algorithm's name, as written before the colon.
  std::string_view algorithm_name() const noexcept;
  /// The hex part, after the colon.
  std::string_view hex() const noexcept;
  /// The whole `algorithm:hex` string.
  const std::string& str() const noexcept { return str_; }

  /// Equality of the `algorithm:hex` strings.
  friend bool operator==(const digest& a, const digest& b) noexcept { return a.str_ == b.str_; }
  /// Ordering of the `algorithm:hex` strings.
  friend auto operator<=>(const digest& a, const digest& b) noexcept { return a.str_ <=> b.str_; }

 private:
  digest(digest_algorithm a, std::string s) : algorithm_(a), str_(std::move(s)) {}
  friend class digester;

  digest_algorithm algorithm_ = digest_algorithm::sha256;
  std::string str_;
};

/// Incremental hashing: feed bytes with `update`, then `finish` once.
/// Movable, not copyable. `state_copy()` clones the running state, so a caller
/// can checkpoint a partial hash (e.g. a download's verified prefix).
class digester {
 public:
  /// A digester for algorithm `a`, having seen no bytes.
  explicit digester(digest_algorithm a = digest_algorithm::sha256);
  /// Move constructor.
  digester(digester&&) noexcept;
  /// Move assignment.
  digester& operator=(digester&&) noexcept;
  /// Frees the hash state.
  ~digester();

  /// Feeds `bytes`.
  void update(std::span<const std::byte> bytes);
  /// Feeds `bytes`.
  void update(std::string_view bytes);
  /// Bytes fed so far.
  std::uint64_t size() const noexcept { return size_; }
  /// The algorithm given at construction.
  digest_algorithm algorithm() const noexcept { return algorithm_; }
  /// A copy of the running state; the original continues independently.
  digester state_copy() const;
  /// The digest of everything fed. The digester cannot be used afterwards.
  digest finish();
  /// Whether everything fed hashes to `expected` (false for another
  /// algorithm): `finish() == expected` without building the digest's
  /// string. The digester cannot be used afterwards.
  bool finish_matches(const digest& expected);

 private:
  struct ctx_deleter {
    void operator()(void* p) const noexcept;
  };
  digest_algorithm algorithm_;
  std::uint64_t size_ = 0;
  std::unique_ptr<void, ctx_deleter> ctx_;  // EVP_MD_CTX, kept out of this header
};

}  // namespace coras

/// @file
/// References to content in a registry: `registry/repository[:tag][@digest]`.
#pragma once

#include <coras/core/digest.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace coras {

/// A parsed, validated reference, following the distribution reference grammar:
///
///     reference  := registry "/" repository [ ":" tag ] [ "@" digest ]
///     registry   := host [ ":" port ]   host := domain | IPv4 | "[" IPv6 "]"
///     repository := path-component ( "/" path-component )*
///     path-component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
///     tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
///
/// Unlike docker's parser there is no default registry: the registry part is
/// required (as in oras). When both a tag and a digest are given the digest
/// wins and the tag is dropped, as oras-go does.
class reference {
 public:
  reference() = default;

  /// Parses a full reference; throws `coras::error` (errc::invalid_reference)
  /// whose what() says which part is wrong and at which position.
  static reference parse(std::string_view s);
  /// Non-throwing parse: `errc::invalid_reference` on failure; `why` (when
  /// given) receives the message.
  static boost::system::result<reference> try_parse(std::string_view s, std::string* why = nullptr);

  /// Builds a reference from parts, validating each (same errors as parse).
  /// `tag_or_digest` may be empty; a value containing ':' is read as a digest.
  static reference from_parts(std::string_view registry, std::string_view repository,
                              std::string_view tag_or_digest = {});

  /// Resolves `s` against this reference's repository, as oras-go's
  /// `Repository.ParseReference`: `s` may be a tag (`v1`), a digest
  /// (`sha256:…`), `tag@digest` or `@digest` (digest wins), or a full
  /// reference, which must name this registry and repository. The result
  /// always has a tag or digest. Throws `coras::error` (errc::invalid_reference).
  reference resolve(std::string_view s) const;
  /// Non-throwing `resolve`; `why` (when given) receives the message.
  boost::system::result<reference> try_resolve(std::string_view s,
                                               std::string* why = nullptr) const;

  /// The registry part, `host[:port]`.
  const std::string& registry() const noexcept { return registry_; }
  /// The repository path, without registry, tag or digest.
  const std::string& repository() const noexcept { return repository_; }
  /// The tag or digest string; empty when the reference names only a repository.
  const std::string& tag_or_digest() const noexcept { return object_; }

  /// True when the reference holds a digest.
  bool has_digest() const noexcept { return !digest_.empty(); }
  /// True when the reference holds a tag and no digest.
  bool has_tag() const noexcept { return !object_.empty() && digest_.empty(); }
  /// The digest; empty when the reference has none.
  const ::coras::digest& digest() const noexcept { return digest_; }
  /// The tag; empty when the reference has none (or has a digest).
  std::string_view tag() const noexcept {
    return has_tag() ? std::string_view(object_) : std::string_view();
  }

  /// A copy naming `tag_or_digest` in the same repository (validated).
  reference with(std::string_view tag_or_digest) const;

  /// `registry/repository` — the name without tag or digest.
  std::string name() const;
  /// `registry/repository`, then `:tag` or `@digest` when present.
  std::string str() const;

  /// Member-wise equality.
  friend bool operator==(const reference&, const reference&) = default;

 private:
  enum class object_kind { tag, digest, guess };
  static boost::system::result<reference> build(std::string_view input, std::string_view registry,
                                                std::string_view repository,
                                                std::string_view object, object_kind kind,
                                                std::string* why);
  // `ref` (its name checked already) with `object` as its tag or digest.
  static boost::system::result<reference> with_object(reference ref, std::string_view input,
                                                      std::string_view object, object_kind kind,
                                                      std::string* why);
  // This reference's name (valid: not checked again) with `object`.
  boost::system::result<reference> same_name(std::string_view input, std::string_view object,
                                             object_kind kind, std::string* why) const;

  std::string registry_;
  std::string repository_;
  std::string object_;
  ::coras::digest digest_;
};

/// @{
/// Grammar checks for single parts (a registry, a repository path, a tag).
/// Each returns an empty string when `s` is valid, else a message saying what
/// is wrong and where.
std::string check_registry(std::string_view s);
std::string check_repository(std::string_view s);
std::string check_tag(std::string_view s);
/// @}

}  // namespace coras

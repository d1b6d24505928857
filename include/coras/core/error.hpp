/// @file
/// Errors: coras's own error codes, the OCI distribution error codes, and the
/// exception thrown by the throwing (default) forms of coras operations.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/error_condition.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace coras {

using boost::system::error_code;

/// Failure conditions. Like `std::errc` this is an error *condition* enum:
/// `ec == errc::not_found` holds both for coras's own code and for a registry's
/// MANIFEST_UNKNOWN (`registry_errc`), so callers test one enum. Make a code
/// from it with `make_error_code(errc::…)`.
enum class errc {
  // 0 is success in every error_code category.
  not_found = 1,        ///< The registry has no such blob, manifest, tag or repository.
  unauthorized,         ///< 401: no or wrong credential.
  denied,               ///< 403: the credential may not do this.
  unsupported,          ///< The registry or this client does not support the operation.
  too_many_requests,    ///< 429: rate limited.
  invalid_reference,    ///< A reference string is malformed.
  invalid_digest,       ///< A digest string is malformed.
  unsupported_digest,   ///< A digest names an algorithm coras does not implement.
  invalid_manifest,     ///< A manifest or index document is malformed.
  digest_mismatch,      ///< Content does not hash to the digest it was fetched by.
  size_mismatch,        ///< Content is longer or shorter than its descriptor says.
  size_limit_exceeded,  ///< A response exceeded a configured size limit.
  invalid_response,     ///< The registry answered something the protocol does not allow.
  registry_error,       ///< The registry answered with an error status not listed above.
  timeout,              ///< A configured time limit passed (not the caller's cancellation).
  /// More redirects than the configured limit.
  too_many_redirects,
  /// The referrers capability was already set to the other value.
  referrers_capability_conflict,
  /// A referrers index update succeeded but deleting the old index failed
  /// (oras-go's `ReferrersError` for `DeleteReferrersIndex`): the operation's
  /// own work is done; an unreferenced index is left behind.
  referrers_gc_failed,
  /// The caller passed an argument the operation cannot use (e.g. a resume
  /// offset without the hash of the bytes before it).
  invalid_argument,
  /// A referrers index update under the referrers tag schema did not hold:
  /// other writers kept replacing the index (or the registry kept failing
  /// to read or write the tag) through
  /// `repository_options::max_referrers_index_retries` retries.
  referrers_index_conflict,
};

/// The category of `errc`; its name is "coras".
const boost::system::error_category& coras_category() noexcept;

/// Makes an `error_code` in `coras_category()`.
error_code make_error_code(errc e) noexcept;
/// Makes the condition `e` (used by `ec == errc::…`, found by ADL).
boost::system::error_condition make_error_condition(errc e) noexcept;

/// The error codes of the OCI distribution spec (the `code` field of an entry
/// in an error response's `errors[]`).
enum class registry_errc {
  blob_unknown = 1,
  blob_upload_invalid,
  blob_upload_unknown,
  digest_invalid,
  manifest_blob_unknown,
  manifest_invalid,
  manifest_unknown,
  name_invalid,
  name_unknown,
  size_invalid,
  unauthorized,
  denied,
  unsupported,
  too_many_requests,
};

/// The category of `registry_errc`; its name is "oci-distribution". Its codes are
/// equivalent to the matching `errc` (`manifest_unknown == errc::not_found`).
const boost::system::error_category& registry_category() noexcept;

/// Makes an `error_code` in `registry_category()`.
error_code make_error_code(registry_errc e) noexcept;

/// The spec's code string for `e` ("MANIFEST_UNKNOWN").
std::string_view to_string(registry_errc e) noexcept;

/// Sets `out` and returns true when `code` is one of the spec's code strings.
bool parse_registry_errc(std::string_view code, registry_errc& out) noexcept;

/// One entry of an error response's `errors[]`, as the registry sent it.
struct registry_error_entry {
  std::string code;     ///< e.g. "MANIFEST_UNKNOWN" (kept even if not a spec code)
  std::string message;  ///< human text from the registry, may be empty
  std::string detail;   ///< the `detail` member re-serialized as JSON, empty when absent

  /// "manifest unknown: message: detail", as oras-go formats it.
  std::string to_string() const;
};

/// What a registry said when it answered with an error status: the request
/// (method and URL, credentials stripped) and the OCI `errors[]` list.
struct registry_error {
  unsigned status = 0;                       ///< HTTP status code
  std::string method;                        ///< request method, e.g. "GET"
  std::string url;                           ///< request URL with any userinfo removed
  std::vector<registry_error_entry> errors;  ///< empty when the body was not OCI JSON

  /// The condition this answer stands for: the first entry's spec code when it
  /// has one, else derived from the status (404 → not_found, 401 → unauthorized…).
  error_code code() const noexcept;

  /// `GET "https://r/v2/…": response status code 404: manifest unknown: …`
  std::string to_string() const;
};

/// Builds a `registry_error` from an error response. `body` is read as the
/// spec's `{"errors":[…]}` document; any other body (plain text, HTML, broken or
/// oversized JSON) leaves `errors` empty, never fails. Only the first 8 KiB of
/// `body` are looked at, as oras-go does. Userinfo in `url` is stripped.
registry_error parse_registry_error(unsigned status, std::string_view method, std::string_view url,
                                    std::string_view body);

/// Removes `user:password@` from a URL so it can be logged or shown.
std::string strip_credentials(std::string_view url);

/// The exception thrown by coras's throwing operations. `code()` is the
/// condition; `what()` is a sentence that says what was wrong and where;
/// `registry()` is the server's answer when the failure came from one.
class error : public boost::system::system_error {
 public:
  /// An error with code `ec` and the sentence `what_arg`.
  error(error_code ec, const std::string& what_arg);
  /// An error with code `make_error_code(e)` and the sentence `what_arg`.
  error(errc e, const std::string& what_arg) : error(make_error_code(e), what_arg) {}
  /// An error for a registry's answer: `code()` is `response.code()`, `what()`
  /// is `response.to_string()`, and `registry()` points at `response`.
  explicit error(registry_error response);

  /// The sentence given at construction, without the category suffix that
  /// `system_error` would append.
  const char* what() const noexcept override { return message_->c_str(); }

  /// The registry's error response, or nullptr when the failure was client-side.
  const registry_error* registry() const noexcept { return registry_.get(); }

 private:
  std::shared_ptr<const std::string> message_;  // shared: exceptions copy cheaply, never throw
  std::shared_ptr<const registry_error> registry_;
};

/// What went wrong, in words, for callers that receive only an `error_code`
/// (callbacks, `as_tuple`): operations that take a `diagnostics&` fill it when
/// they fail and clear it when they succeed. One object per operation in
/// flight; not thread-safe.
class diagnostics {
 public:
  /// The sentence a throwing caller would have seen in `what()`; empty after success.
  const std::string& message() const noexcept { return message_; }
  /// The registry's error response, or nullptr when the failure was client-side.
  const registry_error* registry() const noexcept { return registry_.get(); }
  /// Empties the message and drops the registry's response.
  void clear() noexcept {
    message_.clear();
    registry_.reset();
  }

  /// Internal: records `e` (a `coras::error`, another `system_error`, or anything else).
  void assign(const std::exception_ptr& e);

 private:
  std::string message_;
  std::shared_ptr<const registry_error> registry_;
};

}  // namespace coras

namespace boost::system {
template <>
struct is_error_condition_enum<coras::errc> : std::true_type {};
template <>
struct is_error_code_enum<coras::registry_errc> : std::true_type {};
}  // namespace boost::system

// The docker credential helper protocol (docker/docker-credential-helpers):
// `docker-credential-<name> get|store|erase` with the request on stdin and
// the answer on stdout. Not installed.
#pragma once

#include <coras/auth/credential.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace coras::auth::detail {

/// Limits of one helper run.
struct helper_limits {
  std::chrono::steady_clock::duration time = std::chrono::seconds(30);
  std::size_t output = 64 * 1024;
};

/// What a finished helper left: its exit status and stdout.
struct helper_output {
  /// The exit status; -1 when it was killed by a signal.
  int status = 0;
  std::string out;
};

/// Runs `docker-credential-<helper> <action>` (found on PATH; stderr goes to
/// /dev/null), writes `input` to its stdin and reads its stdout until EOF on
/// the calling coroutine's executor, then reaps it. Throws `coras::error`:
/// the `errno` code when it cannot be started, `errc::timeout` past
/// `limits.time`, `errc::size_limit_exceeded` past `limits.output` (the child
/// is killed in both cases), `errc::invalid_response` for a helper name that
/// holds '/' or is empty. Cancellation kills the child. The child is reaped
/// on every path.
boost::asio::awaitable<helper_output> run_helper(std::string helper, std::string action,
                                                 std::string input, helper_limits limits = {});

/// The server URL docker gives helpers for `registry`:
/// `https://index.docker.io/v1/` for Docker Hub, `registry` otherwise.
std::string helper_server_url(std::string_view registry);

/// True for "credentials not found in native keychain" (what helpers print
/// when they have nothing for a server URL).
bool is_not_found_message(std::string_view out);

/// Reads a `get` answer: `{"ServerURL","Username","Secret"}`; Username
/// `<token>` makes Secret the refresh token. std::nullopt when it is not
/// that JSON (the text is never echoed into errors: it may hold secrets).
std::optional<credential> parse_get_answer(std::string_view out);

/// The `store` request for `c`: `{"ServerURL","Username","Secret"}`.
std::string store_request(std::string_view server_url, const credential& c);

/// `get`: the credential the helper has for `registry`, empty when it has
/// none. Errors as `run_helper`, plus `errc::invalid_response` when the
/// helper fails otherwise or answers something else than the JSON above.
boost::asio::awaitable<credential> helper_get(std::string helper, std::string registry,
                                              helper_limits limits = {});

/// `store` and `erase`, synchronously (on a private io_context). `erase`
/// returns false when the helper had nothing for `registry`.
void helper_store(const std::string& helper, std::string_view registry, const credential& c,
                  helper_limits limits = {});
bool helper_erase(const std::string& helper, std::string_view registry, helper_limits limits = {});

}  // namespace coras::auth::detail

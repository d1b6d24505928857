/// @file
/// Credentials from docker's config.json and docker credential helpers: where
/// `docker login` (and oras, podman with a docker config) keep them.
#pragma once

#include <coras/auth/credential.hpp>

#include <filesystem>
#include <string_view>

namespace coras::auth {

/// `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set and not empty,
/// else `$HOME/.docker/config.json` (`.docker/config.json`, relative, when
/// `HOME` is unset too). Reads the environment on each call; does not touch
/// the file system. Thread-safe as long as nothing modifies the environment
/// concurrently.
std::filesystem::path default_docker_config_path();

/// A provider that reads `config` (a docker `config.json`) on every call, so
/// a `coras login` or `docker login` made meanwhile is seen. For registry `R`
/// (`host[:port]`; `docker.io` for Docker Hub):
///
/// 1. `credHelpers[R]` names a helper: `docker-credential-<name> get`;
/// 2. else an `auths` entry keyed `R`, `https://R`, any other key whose host
///    (scheme and path removed) is `R`, and for Docker Hub
///    `https://index.docker.io/v1/` and `index.docker.io`: its `auth`
///    (base64 `user:password`, split at the first ':'), or else its
///    `username`/`password` members; `identitytoken` is the refresh token and
///    `registrytoken` the access token. An entry with none of these (docker
///    writes `{}` beside a `credsStore`) does not count;
/// 3. else `credsStore` names a helper: `docker-credential-<name> get`;
/// 4. else anonymous (an empty credential).
///
/// A missing file is anonymous. A helper is given the server URL `R` on
/// stdin (`https://index.docker.io/v1/` for Docker Hub) and answers
/// `{"ServerURL","Username","Secret"}`; Username `<token>` makes Secret the
/// refresh token; "credentials not found in native keychain" is anonymous.
///
/// The helper runs as a child process whose output is read asynchronously on
/// the calling coroutine's executor; it is killed after 30 seconds
/// (`errc::timeout`) or when its output passes 64 KiB
/// (`errc::size_limit_exceeded`), and always reaped. Terminal cancellation of
/// the awaiting coroutine kills it too. The file itself is read synchronously
/// (a small local file).
///
/// Errors (thrown as `coras::error` from the awaitable, so they fail the
/// request that needed the credential): malformed JSON or members of the
/// wrong type (`errc::invalid_response`, naming the file and member); an
/// unreadable file or a helper that cannot be started (the `errno` code,
/// naming the file or program); a helper that fails or answers malformed
/// JSON (`errc::invalid_response`). Messages never hold secrets.
///
/// Thread safety: the provider holds only the path; it may be copied and
/// called concurrently from any number of executors.
credential_provider docker_config_credentials(
    std::filesystem::path config = default_docker_config_path());

/// Stores `c` for `registry` (what `coras login` does), synchronously:
///
/// - when `config` has `credHelpers[registry]` or a `credsStore`, with that
///   helper's `store` (stdin: `{"ServerURL","Username","Secret"}`; a refresh
///   token is stored as Username `<token>`); a credential-carrying `auths`
///   entry for `registry` in the file is then removed, since it would
///   otherwise shadow the helper's;
/// - otherwise in `auths`: under the key `registry`
///   (`https://index.docker.io/v1/` for Docker Hub) as `auth` (base64
///   `user:password`), `identitytoken` (refresh token) and `registrytoken`
///   (access token); other keys naming the same registry are removed, other
///   members of the entry (e.g. `email`) and every other member of the file
///   are kept.
///
/// The file is written atomically (a temporary file in the same directory,
/// fsync, rename) with mode 0600; a missing directory is created with mode
/// 0700. A symbolic link at `config` is followed (its target is replaced).
///
/// Throws `coras::error`: `errc::invalid_response` for a malformed existing
/// file; the `errno` code for I/O failures; the helper's failure
/// (`errc::invalid_response`, `errc::timeout`, or the `errno` code when it
/// cannot be started). Blocks the calling thread (it runs its own
/// io_context for the helper): meant for command-line tools, not for a
/// coroutine on a shared executor. Not safe against concurrent writers of
/// the same file (the last rename wins).
void store_docker_credential(const std::filesystem::path& config, std::string_view registry,
                             const credential& c);

/// Removes the credential for `registry` (what `coras logout` does),
/// synchronously: with the helper's `erase` (stdin: the server URL) when
/// `config` has `credHelpers[registry]` or a `credsStore`, and from `auths`
/// (every key naming `registry`, as the lookup matches them) in any case.
/// Returns false when there was nothing to remove (no entry, and the helper
/// answered "credentials not found"); a missing file is false. The file is
/// rewritten as `store_docker_credential` does, only when an entry was removed.
///
/// Errors, blocking and thread safety as for `store_docker_credential`.
bool erase_docker_credential(const std::filesystem::path& config, std::string_view registry);

}  // namespace coras::auth

// The text side of <coras/auth/docker_config.hpp> without files or helper
// processes: how a config.json's bytes are read and rewritten. Internal; the
// fuzz target fuzz/docker_config.cpp drives it.
#pragma once

#include <coras/auth/credential.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace coras::auth::detail {

/// Where a config names the credential for `registry`.
struct docker_config_answer {
  std::optional<credential> entry;  ///< from `auths`, when that is where it lives
  std::string helper;               ///< else the helper (credHelpers, credsStore); may be empty
};

/// Reads config.json `text` as docker_config_credentials does, without
/// running a helper. Throws coras::error (`errc::invalid_response`) when the
/// text is malformed; never shows a credential's value in the message.
docker_config_answer docker_config_lookup(std::string_view text, std::string_view registry);

/// The text store_docker_credential writes for `c` into a config holding
/// `text`, when no helper is named for `registry`; nullopt when one is (the
/// helper stores it and the file keeps no secret). Throws as
/// docker_config_lookup.
std::optional<std::string> docker_config_with(std::string_view text, std::string_view registry,
                                              const credential& c);

}  // namespace coras::auth::detail

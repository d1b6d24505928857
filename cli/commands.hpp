// The coras command's subcommands. Each takes the arguments after its name and
// returns the process exit status (0 ok, 1 failure, 2 usage error).
#pragma once

#include <span>
#include <string_view>

namespace coras::cli {

struct global_options;  // options.hpp

int serve(std::span<const std::string_view> args);
extern const char* const serve_usage;

// The registry client commands: resolve and manifest (manifest_commands.cpp),
// blob (blob_commands.cpp), tags, repos and tag (tag_commands.cpp). `g` holds
// the global options given before the command's name; more may follow it.
int resolve(std::span<const std::string_view> args, const global_options& g);
int manifest(std::span<const std::string_view> args, const global_options& g);
int blob(std::span<const std::string_view> args, const global_options& g);
int tags(std::span<const std::string_view> args, const global_options& g);
int repos(std::span<const std::string_view> args, const global_options& g);
int tag(std::span<const std::string_view> args, const global_options& g);

// The OCI 1.1 referrers commands (referrers_commands.cpp).
int referrers(std::span<const std::string_view> args, const global_options& g);
int attach(std::span<const std::string_view> args, const global_options& g);

// Graph copy between registries and OCI layouts (copy_command.cpp), and
// ORAS-style artifacts from and to files (push_command.cpp, pull_command.cpp).
int copy(std::span<const std::string_view> args, const global_options& g);
int push(std::span<const std::string_view> args, const global_options& g);
int pull(std::span<const std::string_view> args, const global_options& g);

// Credentials in the docker config file (login_commands.cpp).
int login(std::span<const std::string_view> args, const global_options& g);
int logout(std::span<const std::string_view> args, const global_options& g);

}  // namespace coras::cli

// The coras command's subcommands. Each takes the arguments after its name and
// returns the process exit status (0 ok, 1 failure, 2 usage error).
#pragma once

#include <span>
#include <string_view>

namespace coras::cli {

int serve(std::span<const std::string_view> args);
extern const char* const serve_usage;

}  // namespace coras::cli

// coras: the command-line front end. It only parses arguments and calls the
// library; protocol logic lives in lib/.
#include "commands.hpp"

#include <iostream>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: coras <command> [options]

commands:
  serve     run an OCI registry (the embedded coras registry)

Run "coras <command> --help" for a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << usage;
    return 2;
  }
  const auto command = args.front();
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage;
    return 0;
  }
  const std::span<const std::string_view> rest(args.data() + 1, args.size() - 1);
  if (command == "serve") return coras::cli::serve(rest);
  std::cerr << "coras: unknown command \"" << command << "\"\n\n" << usage;
  return 2;
}

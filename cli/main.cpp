// coras: the command-line front end. It only parses arguments and calls the
// library; protocol logic lives in lib/.
#include "commands.hpp"
#include "options.hpp"

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage_head = R"(usage: coras [global options] <command> [options]

commands:
  resolve REF                          print the digest of a manifest
  manifest get REF [-o FILE]           write a manifest's bytes to stdout or FILE
  manifest put REF FILE [--media-type T]
                                       push a manifest, print its digest
  manifest delete REF                  delete a manifest (a tag is resolved first)
  blob get REPO@DIGEST -o FILE|-       fetch a blob, verified
  blob put REPO FILE                   push a blob, print its digest
  blob delete REPO@DIGEST              delete a blob
  blob mount --from SRC DST@DIGEST     make a blob of repository SRC available in DST
  tags REPO                            list a repository's tags
  repos REGISTRY                       list a registry's repositories
  tag REF NEWTAG...                    add tags to a manifest
  referrers REF [--artifact-type T] [--format json]
                                       list the manifests that refer to REF
  attach REF --artifact-type T FILE... [--annotation KEY=VALUE]...
                                       push FILEs as an artifact that refers to REF
  copy SRC DST [--platform OS/ARCH[/VARIANT] | --all-platforms] [--referrers]
               [--format json]         copy an image and all it references
                                       (SRC, DST: REF or oci:DIR[:TAG])
  push REF FILE[:MEDIATYPE]... [--artifact-type T] [--annotation KEY=VALUE]...
                                       push FILEs as an artifact, print its digest
  pull REF [-o DIR] [--platform OS/ARCH[/VARIANT] | --all-platforms]
                                       write an artifact's titled layers to DIR
  login REGISTRY -u USER (--password-stdin | -p PASSWORD)
                                       check a credential, then store it
  logout REGISTRY                      remove the stored credential
  serve                                run an OCI registry (the embedded coras registry)

REF is registry/repository:tag or registry/repository@sha256:…;
REPO is registry/repository; REGISTRY is host[:port].

)";

constexpr const char* usage_tail =
    R"(Exit status: 0 success, 1 failure ("coras: error: …" on stderr), 2 usage error.
Run "coras <command> --help" for a command's options.
)";

// The global options' text is shared with every command's --help.
const std::string usage =
    std::string(usage_head) + coras::cli::global_options_usage + "\n" + usage_tail;

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  coras::cli::global_options globals;
  std::size_t i = 0;
  bool any_global = false;
  try {
    for (; i < args.size() && coras::cli::parse_global(args, i, globals); ++i) any_global = true;
  } catch (const coras::cli::usage_error& e) {
    std::cerr << "coras: " << e.message << "\n\n" << usage;
    return 2;
  }
  if (i == args.size()) {
    std::cerr << usage;
    return 2;
  }
  const auto command = args[i];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage;
    return 0;
  }
  const std::span<const std::string_view> rest(args.data() + i + 1, args.size() - i - 1);
  if (command == "serve") {
    if (any_global) {
      std::cerr << "coras: the global options are for the client commands, not serve\n\n"
                << coras::cli::serve_usage;
      return 2;
    }
    return coras::cli::serve(rest);
  }
  if (command == "resolve") return coras::cli::resolve(rest, globals);
  if (command == "manifest") return coras::cli::manifest(rest, globals);
  if (command == "blob") return coras::cli::blob(rest, globals);
  if (command == "tags") return coras::cli::tags(rest, globals);
  if (command == "repos") return coras::cli::repos(rest, globals);
  if (command == "tag") return coras::cli::tag(rest, globals);
  if (command == "referrers") return coras::cli::referrers(rest, globals);
  if (command == "attach") return coras::cli::attach(rest, globals);
  if (command == "copy") return coras::cli::copy(rest, globals);
  if (command == "push") return coras::cli::push(rest, globals);
  if (command == "pull") return coras::cli::pull(rest, globals);
  if (command == "login") return coras::cli::login(rest, globals);
  if (command == "logout") return coras::cli::logout(rest, globals);
  std::cerr << "coras: unknown command \"" << command << "\"\n\n" << usage;
  return 2;
}

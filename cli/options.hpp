// What the client commands share: the global options, the argument parser,
// reference checks, and the session that runs one operation on an io_context.
#pragma once

#include <coras/auth/credential.hpp>
#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>
#include <coras/http/client.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace coras::cli {

/// The options every client command takes, before or after its name.
struct global_options {
  bool plain_http = false;
  std::string ca_file;
  bool insecure = false;
  bool verbose = false;
  /// -u/--username: with -p or --password-stdin, the credential for the
  /// command's registry instead of the docker config's.
  std::string username;
  std::string password;         ///< -p/--password
  bool password_stdin = false;  ///< --password-stdin
  /// --registry-config: the docker config file; empty for
  /// `auth::default_docker_config_path()`.
  std::string registry_config;
};

/// The docker config file `g` names (--registry-config, else the default).
std::filesystem::path registry_config_path(const global_options& g);

/// The credential -u with -p or --password-stdin gives (--password-stdin
/// reads all of stdin, dropping one trailing newline); std::nullopt without
/// -u. Throws usage_error for -p or --password-stdin without -u, -u without
/// either, both at once, or an empty password.
std::optional<auth::credential> command_line_credential(const global_options& g);

/// The lines of usage text that describe the global options.
extern const char* const global_options_usage;

/// A mistake in the command line: exit status 2, the message and the usage.
struct usage_error {
  std::string message;
};

/// A failed operation: exit status 1, "coras: error: <message>".
struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Consumes the global option at `args[i]` (and its value, advancing `i`).
/// Returns false when `args[i]` is not a global option. Throws usage_error.
bool parse_global(std::span<const std::string_view> args, std::size_t& i, global_options& g);

/// An option a command takes besides the global ones.
struct option_spec {
  std::string_view name;        ///< "--output"
  std::string_view short_name;  ///< "-o", or empty
  bool takes_value = false;
};

struct parsed_args {
  std::vector<std::string> positionals;
  std::map<std::string, std::string, std::less<>> values;  ///< by long name; flags map to ""
  /// Every value of each option, in command-line order (for repeatable options;
  /// `values` keeps the last).
  std::map<std::string, std::vector<std::string>, std::less<>> all_values;
  bool help = false;

  bool has(std::string_view name) const { return values.find(name) != values.end(); }
  const std::string* get(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
  std::span<const std::string> get_all(std::string_view name) const {
    auto it = all_values.find(name);
    if (it == all_values.end()) return {};
    return it->second;
  }
};

/// Parses a command's arguments: its own options (`--name VALUE`,
/// `--name=VALUE`, `-o VALUE`), the global options (into `g`), `-h`/`--help`,
/// positionals ("-" is one), and "--" after which everything is positional.
/// Throws usage_error for an unknown option or a missing value.
parsed_args parse_args(std::span<const std::string_view> args, std::span<const option_spec> spec,
                       global_options& g);

/// Throws usage_error unless there are between `min` and `max` positionals.
void expect_positionals(const parsed_args& a, std::size_t min, std::size_t max);

/// What a reference argument must name.
enum class ref_kind {
  repository,     ///< registry/repository, no tag or digest
  tag_or_digest,  ///< registry/repository:tag or @digest
  digest,         ///< registry/repository@digest
  any,            ///< with or without a tag or digest
};

/// Parses a reference argument; a malformed one, or one of the wrong kind, is
/// a usage_error that says why.
reference parse_ref(std::string_view text, ref_kind kind);

/// The value of an option given at most once; nullptr when absent
/// (usage_error when repeated).
const std::string* single(const parsed_args& a, std::string_view name);

/// Annotations from repeated `--annotation KEY=VALUE` options (usage_error on
/// a malformed or repeated key).
annotations parse_annotations(std::span<const std::string> options);

/// Fails (exit 1, before any request) unless `path` is a regular file:
/// "cannot VERB PATH: not a regular file".
void check_regular_file(const std::filesystem::path& path, std::string_view verb);

/// Throws `failure` with the diagnostics' message (or the code's) when `ec` is set.
void check(error_code ec, const diagnostics& d);

struct credential_scope;  // options.cpp: what -u hands out, and to which registry

/// One client command's run: an io_context, the HTTP client built from the
/// global options, and the repository options. Credentials: with -u, the
/// command-line credential for the registry of the first `repository()` or
/// `registry()` handle made (anonymous for any other); otherwise those the
/// docker config file gives (`auth::docker_config_credentials`).
class session {
 public:
  /// Throws `coras::error` when the TLS files cannot be loaded, usage_error
  /// for inconsistent credential options (see command_line_credential).
  explicit session(const global_options& g);

  remote::repository repository(const reference& ref) const;
  /// The transfer settings repositories made after this call get.
  remote::transfer_options& transfer() { return options_.transfer; }
  remote::registry registry(std::string_view name) const;
  /// The pool that hashes and does the file I/O of transfers (2 threads).
  boost::asio::any_io_executor work_executor() { return work_.get_executor(); }

  /// Runs `op` to completion. Returns 0, or 1 after printing its error.
  int run(boost::asio::awaitable<void> op);

 private:
  boost::asio::io_context ioc_;              // first: outlives the client
  boost::asio::thread_pool work_;            // hashing and file I/O of transfers
  std::shared_ptr<credential_scope> scope_;  // before client_: its options use it
  http::client client_;
  remote::registry_options options_;
};

/// Prints "coras: error: <message>" (on one line) to stderr.
/// `text` (from the network: a registry's message, a Warning, an
/// annotation) as one printable line: line breaks become spaces, every other
/// control character is shown as \xNN, so it cannot drive the terminal.
std::string one_line(std::string_view text);

void print_error(std::string_view message);

/// Runs `body`, turning usage_error into exit status 2 (the message, then
/// `usage` — the short form — and a pointer to --help, on stderr) and any
/// other exception into 1 ("coras: error: …").
int guarded(std::string_view command, const std::string& usage, const std::function<int()>& body);

/// A command's usage text followed by the global options.
std::string usage_of(std::string_view text);
/// The synopsis: the usage text's first paragraph.
std::string synopsis(std::string_view text);

/// One subcommand of a group ("manifest get …", "blob put …").
struct subcommand {
  std::string_view name;
  int (*run)(std::span<const std::string_view>, const global_options&);
};

/// Runs a group of subcommands: global options may come before the
/// subcommand's name; `-h`/`--help` prints `text` with the global options; a
/// missing or unknown subcommand is a usage error showing `text` up to its
/// last paragraph (the list of subcommands).
int group(std::string_view name, std::string_view text, std::span<const std::string_view> args,
          global_options g, std::span<const subcommand> subs);

/// Writes all of `data` to stdout, unbuffered (blob bodies may be large);
/// throws `failure` when it cannot.
void write_stdout(const char* data, std::size_t size);

/// Runs a command: parses `args` with `spec` (`--help` prints `text` with the
/// global options), then `body(parsed_args, global_options)`, under `guarded`.
template <class F>
int command(std::string_view name, std::string_view text, std::span<const std::string_view> args,
            global_options g, std::span<const option_spec> spec, F body) {
  return guarded(name, synopsis(text), [&]() -> int {
    auto a = parse_args(args, spec, g);
    if (a.help) {
      std::cout << usage_of(text);
      return 0;
    }
    return body(a, g);
  });
}

}  // namespace coras::cli

// The client commands' shared parts: options, arguments, references, sessions.
#include "options.hpp"

#include <coras/auth/authorizer.hpp>
#include <coras/auth/docker_config.hpp>

#include <boost/asio/co_spawn.hpp>

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>

namespace coras::cli {

const char* const global_options_usage =
    R"(global options (before or after the command; not for serve):
  --plain-http              talk plain HTTP instead of HTTPS
  --ca-file FILE            also trust the CA certificates in FILE (PEM)
  --insecure                do not verify TLS certificates (tests only)
  -v                        one line per HTTP request on stderr
  -u, --username USER       log in as USER (with -p or --password-stdin)
                            instead of using the stored credentials
  -p, --password PASS       USER's password (visible in the process list)
  --password-stdin          read USER's password from stdin
  --registry-config FILE    the docker config file with stored credentials
                            (default: $DOCKER_CONFIG/config.json, else
                            ~/.docker/config.json)
  -h, --help                this text
)";

// What the session's credential provider hands out with -u: the
// command-line credential for the registry the command names, anonymous for
// any other (a redirect target, say). The registry is known only once the
// command makes its first handle, after the client exists.
struct credential_scope {
  std::optional<auth::credential> credential;
  auth::credential_provider provider;  // static_credentials, once the registry is known

  void bind(std::string_view registry) {
    if (credential && !provider)
      provider = auth::static_credentials(std::string(registry), *credential);
  }
};

namespace {

// Splits "--name=value" into its parts; other arguments come back whole.
std::pair<std::string_view, std::optional<std::string_view>> split_inline(std::string_view arg) {
  if (arg.starts_with("--"))
    if (auto eq = arg.find('='); eq != std::string_view::npos)
      return {arg.substr(0, eq), arg.substr(eq + 1)};
  return {arg, std::nullopt};
}

std::string_view take_value(std::span<const std::string_view> args, std::size_t& i,
                            std::string_view name, std::optional<std::string_view> inline_value) {
  if (inline_value) return *inline_value;
  if (i + 1 >= args.size()) throw usage_error{std::string(name) + " needs a value"};
  return args[++i];
}

void reject_inline(std::string_view name, std::optional<std::string_view> inline_value) {
  if (inline_value) throw usage_error{std::string(name) + " takes no value"};
}

// A named coroutine with by-value parameters: it keeps the scope (and so the
// provider it calls) alive while it runs.
boost::asio::awaitable<auth::credential> scoped_credential(
    std::shared_ptr<const credential_scope> scope, std::string registry) {
  if (!scope->provider) co_return auth::credential{};
  co_return co_await scope->provider(std::move(registry));
}

// A URL for -v with the values of secret-looking query parameters hidden: a
// redirect to object storage carries a pre-signed signature there
// (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Azure's sig…),
// which works like a password. Other parameters (mount, from, n, last) stay.
std::string without_secret_query_values(std::string_view url) {
  auto q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  auto secret = [](std::string_view name) {
    std::string n(name);
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view w : {"sig", "token", "credential", "key", "auth", "pass", "secret"})
      if (n.find(w) != std::string::npos) return true;
    return false;
  };
  std::string out(url.substr(0, q + 1));
  std::string_view query = url.substr(q + 1);
  for (bool first = true; !query.empty(); first = false) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (!first) out += '&';
    if (eq != std::string_view::npos && secret(part.substr(0, eq)))
      out += std::string(part.substr(0, eq)) + "=…";
    else
      out += std::string(part);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

http::client_options client_options_for(const global_options& g,
                                        const std::shared_ptr<credential_scope>& scope,
                                        boost::asio::any_io_executor work) {
  http::client_options o;
  o.work_executor = std::move(work);
  o.single_threaded = true;  // session::run: the main thread alone runs the io_context
  if (scope->credential)
    o.auth = auth::make_authorizer(
        [scope](std::string registry) { return scoped_credential(scope, std::move(registry)); });
  else
    o.auth = auth::make_authorizer(auth::docker_config_credentials(registry_config_path(g)));
  o.tls.ca_file = g.ca_file;
  o.tls.insecure_skip_verify = g.insecure;
  if (g.verbose) {
    o.on_request = [](const http::request_event& e) {
      const std::chrono::duration<double, std::milli> ms = e.duration;
      char took[32];
      std::snprintf(took, sizeof took, "%.1fms", ms.count());
      std::string line = e.method + " " + one_line(without_secret_query_values(e.url)) + " ";
      if (e.status != 0)
        line += std::to_string(e.status);
      else
        line += "failed (" + one_line(e.error ? e.error.message() : "no response") + ")";
      std::cerr << line << ' ' << took << '\n';
    };
  }
  // Registries deprecate things through Warning headers; say each one once.
  auto seen = std::make_shared<std::set<std::string>>();
  o.on_warning = [seen](const http::warning& w) {
    if (seen->insert(w.text).second) std::cerr << "coras: warning: " << one_line(w.text) << '\n';
  };
  return o;
}

}  // namespace

bool parse_global(std::span<const std::string_view> args, std::size_t& i, global_options& g) {
  auto [name, inline_value] = split_inline(args[i]);
  if (name == "--plain-http") {
    reject_inline(name, inline_value);
    g.plain_http = true;
  } else if (name == "--insecure") {
    reject_inline(name, inline_value);
    g.insecure = true;
  } else if (name == "-v" || name == "--verbose") {
    reject_inline(name, inline_value);
    g.verbose = true;
  } else if (name == "--ca-file") {
    g.ca_file = std::string(take_value(args, i, name, inline_value));
    if (g.ca_file.empty()) throw usage_error{"--ca-file needs a file name"};
  } else if (name == "-u" || name == "--username") {
    g.username = std::string(take_value(args, i, name, inline_value));
    if (g.username.empty()) throw usage_error{std::string(name) + " needs a user name"};
  } else if (name == "-p" || name == "--password") {
    g.password = std::string(take_value(args, i, name, inline_value));
    if (g.password.empty()) throw usage_error{std::string(name) + " needs a password"};
  } else if (name == "--password-stdin") {
    reject_inline(name, inline_value);
    g.password_stdin = true;
  } else if (name == "--registry-config") {
    g.registry_config = std::string(take_value(args, i, name, inline_value));
    if (g.registry_config.empty()) throw usage_error{"--registry-config needs a file name"};
  } else {
    return false;
  }
  return true;
}

parsed_args parse_args(std::span<const std::string_view> args, std::span<const option_spec> spec,
                       global_options& g) {
  parsed_args out;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto arg = args[i];
    if (options_done || arg == "-" || !arg.starts_with("-")) {
      out.positionals.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (parse_global(args, i, g)) continue;
    auto [name, inline_value] = split_inline(arg);
    const option_spec* match = nullptr;
    for (const auto& o : spec)
      if (name == o.name || (!o.short_name.empty() && name == o.short_name)) match = &o;
    if (!match) throw usage_error{"unknown option \"" + std::string(arg) + "\""};
    std::string value;
    if (match->takes_value)
      value = std::string(take_value(args, i, name, inline_value));
    else
      reject_inline(name, inline_value);
    out.all_values[std::string(match->name)].push_back(value);
    out.values.insert_or_assign(std::string(match->name), std::move(value));
  }
  return out;
}

std::filesystem::path registry_config_path(const global_options& g) {
  if (!g.registry_config.empty()) return g.registry_config;
  return auth::default_docker_config_path();
}

std::optional<auth::credential> command_line_credential(const global_options& g) {
  const bool password_given = !g.password.empty();
  if (g.username.empty()) {
    if (password_given || g.password_stdin)
      throw usage_error{std::string(password_given ? "-p" : "--password-stdin") + " needs -u USER"};
    return std::nullopt;
  }
  if (password_given && g.password_stdin)
    throw usage_error{"give the password with -p or --password-stdin, not both"};
  if (!password_given && !g.password_stdin)
    throw usage_error{"-u needs a password: --password-stdin or -p PASSWORD"};
  auth::credential c;
  c.username = g.username;
  if (password_given) {
    c.password = g.password;
    return c;
  }
  c.password.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  // As docker: one trailing line end is the terminal's, not the password's.
  if (c.password.ends_with('\n')) c.password.pop_back();
  if (c.password.ends_with('\r')) c.password.pop_back();
  if (c.password.empty()) throw usage_error{"--password-stdin: stdin holds no password"};
  return c;
}

void expect_positionals(const parsed_args& a, std::size_t min, std::size_t max) {
  const auto n = a.positionals.size();
  if (n < min) throw usage_error{n == 0 ? "missing arguments" : "too few arguments"};
  if (n > max) throw usage_error{"unexpected argument \"" + a.positionals[max] + "\""};
}

reference parse_ref(std::string_view text, ref_kind kind) {
  std::string why;
  auto parsed = reference::try_parse(text, &why);
  if (!parsed) throw usage_error{why};
  const auto quoted = "\"" + std::string(text) + "\"";
  switch (kind) {
    case ref_kind::repository:
      if (!parsed->tag_or_digest().empty())
        throw usage_error{quoted +
                          " names a repository: give registry/repository without a tag "
                          "or digest"};
      break;
    case ref_kind::tag_or_digest:
      if (parsed->tag_or_digest().empty())
        throw usage_error{quoted + " needs a tag (:tag) or a digest (@sha256:…)"};
      break;
    case ref_kind::digest:
      if (!parsed->has_digest()) throw usage_error{quoted + " needs a digest (@sha256:…)"};
      break;
    case ref_kind::any: break;
  }
  return std::move(*parsed);
}

void check(error_code ec, const diagnostics& d) {
  if (!ec) return;
  if (d.message().empty()) throw failure(ec.message());
  throw failure(d.message());
}

std::string one_line(std::string_view text) {
  // Text from the network (a registry's message, a Warning, an annotation)
  // must not drive the terminal: line breaks become spaces, every other
  // control character (C0, DEL, and C1 as UTF-8) is shown as \xNN.
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      escape(c);
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      escape(static_cast<unsigned char>(text[++i]));  // a C1 control such as CSI
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void print_error(std::string_view message) {
  std::cerr << "coras: error: " << one_line(message) << std::endl;
}

session::session(const global_options& g)
    : work_(2),
      scope_(std::make_shared<credential_scope>(credential_scope{command_line_credential(g), {}})),
      client_(ioc_.get_executor(), client_options_for(g, scope_, work_.get_executor())) {
  options_.plain_http = g.plain_http;
}

remote::repository session::repository(const reference& ref) const {
  scope_->bind(ref.registry());
  return remote::repository(client_, ref, options_);
}

remote::registry session::registry(std::string_view name) const {
  scope_->bind(name);
  return remote::registry(client_, name, options_);
}

int session::run(boost::asio::awaitable<void> op) {
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc_, std::move(op), [&](std::exception_ptr e) {
    error = e;
    done = true;
    // Pooled connections keep timers; nothing more is wanted from them.
    ioc_.stop();
  });
  ioc_.run();
  std::cout.flush();
  if (!done) {
    print_error("the operation did not complete");
    return 1;
  }
  if (!error) return 0;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    print_error(e.what());
  }
  return 1;
}

int guarded(std::string_view command, const std::string& usage, const std::function<int()>& body) {
  try {
    return body();
  } catch (const usage_error& e) {
    std::cerr << "coras " << command << ": " << one_line(e.message) << "\n\n"
              << usage << "Run \"coras " << command << " --help\" for more.\n";
    return 2;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}

std::string usage_of(std::string_view text) {
  return std::string(text) + "\n" + global_options_usage;
}

std::string synopsis(std::string_view text) {
  return std::string(text.substr(0, text.find("\n\n") + 1));
}

const std::string* single(const parsed_args& a, std::string_view name) {
  if (a.get_all(name).size() > 1) throw usage_error{std::string(name) + " given more than once"};
  return a.get(name);
}

annotations parse_annotations(std::span<const std::string> options) {
  annotations out;
  for (const auto& o : options) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error{"--annotation \"" + o + "\" is not KEY=VALUE"};
    if (!out.emplace(o.substr(0, eq), o.substr(eq + 1)).second)
      throw usage_error{"--annotation: key \"" + o.substr(0, eq) + "\" given more than once"};
  }
  return out;
}

void check_regular_file(const std::filesystem::path& path, std::string_view verb) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) throw failure("cannot open " + path.string() + ": " + ec.message());
  if (!std::filesystem::is_regular_file(status))
    throw failure("cannot " + std::string(verb) + " " + path.string() + ": not a regular file");
}

// Writes all of `bytes` to stdout (unbuffered: blob bodies may be large).
void write_stdout(const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(STDOUT_FILENO, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure(std::string("cannot write to stdout: ") + std::strerror(errno));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

int group(std::string_view name, std::string_view text, std::span<const std::string_view> args,
          global_options g, std::span<const subcommand> subs) {
  // A usage error shows the list of subcommands (the text up to its last paragraph).
  const auto short_usage = std::string(text.substr(0, text.rfind("\n\n") + 1));
  return guarded(name, short_usage, [&]() -> int {
    // Global options may come before the subcommand's name too.
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
      if (args[i] == "-h" || args[i] == "--help") {
        std::cout << usage_of(text);
        return 0;
      }
      if (!parse_global(args, i, g)) break;
    }
    if (i == args.size()) throw usage_error{"missing command"};
    for (const auto& s : subs)
      if (args[i] == s.name) return s.run(args.subspan(i + 1), g);
    throw usage_error{"unknown command \"" + std::string(args[i]) + "\""};
  });
}

}  // namespace coras::cli

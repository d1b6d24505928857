// login and logout: check a credential against a registry and keep it in the
// docker config file (or the credential helper it names), and take it out
// again. The file's rules are the library's (coras/auth/docker_config.hpp).
#include "commands.hpp"
#include "options.hpp"

#include <coras/auth/docker_config.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace coras::cli {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view login_text =
    R"(usage: coras login REGISTRY -u USER (--password-stdin | -p PASSWORD)

Checks USER's credential against REGISTRY (host[:port]; docker.io for Docker
Hub) by pinging it (GET /v2/) with it, then stores it in the docker config
file (--registry-config; default $DOCKER_CONFIG/config.json, else
~/.docker/config.json), or with the credential helper that file names
(credHelpers, credsStore). Prints "Login Succeeded". Nothing is stored when
the registry refuses the credential. Later commands use it without -u.

-p PASSWORD is visible to every user of this machine in the process list;
prefer --password-stdin (one trailing newline is dropped).
)";

constexpr std::string_view logout_text = R"(usage: coras logout REGISTRY

Removes the credential stored for REGISTRY (host[:port]) from the docker
config file (--registry-config), or from the credential helper it names.
Fails when there was none.
)";

const std::string& registry_argument(const parsed_args& a) {
  expect_positionals(a, 1, 1);
  const auto& name = a.positionals[0];
  if (auto problem = check_registry(name); !problem.empty())
    throw usage_error{"invalid registry \"" + name + "\": " + problem +
                      " (give host[:port], without a scheme or path)"};
  return name;
}

awaitable<void> ping_op(remote::registry reg) {
  diagnostics d;
  auto [ec] = co_await reg.async_ping(d, use_tuple);
  if (ec)
    throw failure("login to " + reg.name() +
                  " failed: " + (d.message().empty() ? ec.message() : d.message()));
}

}  // namespace

int login(std::span<const std::string_view> args, const global_options& g) {
  return command("login", login_text, args, g, {}, [](const parsed_args& a, global_options opts) {
    const auto& name = registry_argument(a);
    if (opts.username.empty()) throw usage_error{"-u USER is required"};
    if (opts.password.empty() && !opts.password_stdin)
      throw usage_error{"give the password with --password-stdin (or -p PASSWORD)"};
    auto cred = command_line_credential(opts);  // reads stdin for --password-stdin
    if (!opts.password.empty())
      std::cerr << "coras: warning: -p puts the password in the process list, where other "
                   "users can see it; use --password-stdin\n";
    opts.password = cred->password;
    opts.password_stdin = false;
    {
      // The session's client presents `cred` to `name` only.
      session s(opts);
      if (int rc = s.run(ping_op(s.registry(name))); rc != 0) return rc;
    }
    auth::store_docker_credential(registry_config_path(opts), name, *cred);
    std::cout << "Login Succeeded\n";
    return 0;
  });
}

int logout(std::span<const std::string_view> args, const global_options& g) {
  return command("logout", logout_text, args, g, {}, [](const parsed_args& a, global_options opts) {
    const auto& name = registry_argument(a);
    if (!opts.username.empty() || !opts.password.empty() || opts.password_stdin)
      throw usage_error{"logout takes no -u, -p or --password-stdin"};
    const auto config = registry_config_path(opts);
    if (!auth::erase_docker_credential(config, name))
      throw failure("not logged in to " + name + ": no credential for it in \"" + config.string() +
                    "\" or its credential helper");
    std::cout << "Removed login credentials for " << name << '\n';
    return 0;
  });
}

}  // namespace coras::cli

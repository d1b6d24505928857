#include "credential_helper.hpp"

#include "core/text.hpp"
#include "detail/posix_file.hpp"

#include <coras/core/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

extern char** environ;

namespace coras::auth::detail {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view not_found_text = "credentials not found in native keychain";
constexpr std::string_view token_username = "<token>";

using coras::detail::unique_fd;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw coras::error(error_code(err, boost::system::generic_category()),
                     what + ": " + std::strerror(err));
}

// The child and the objects its I/O runs through. Shared with the deadline's
// handler, which may run after the coroutine that started it is gone.
struct child_state {
  explicit child_state(const asio::any_io_executor& ex) : in(ex), out(ex), deadline(ex) {}

  pid_t pid = -1;
  bool reaped = false;
  bool timed_out = false;
  bool finished = false;
  // stdin is a socket, not a pipe: Asio writes to sockets with MSG_NOSIGNAL,
  // so a helper that exits without reading cannot raise SIGPIPE here.
  asio::local::stream_protocol::socket in;
  asio::posix::stream_descriptor out;
  asio::steady_timer deadline;

  void kill_child() {
    if (pid > 0 && !reaped) ::kill(pid, SIGKILL);
  }
  // The last resort on error and cancellation paths: SIGKILL, then a
  // blocking waitpid, which returns at once for a killed child.
  void kill_and_reap() {
    if (pid <= 0 || reaped) return;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
};

// Ends a run on every path out of run_helper: no zombie, no live timer.
struct run_guard {
  std::shared_ptr<child_state> st;
  ~run_guard() {
    st->finished = true;
    st->deadline.cancel();
    error_code ignored;
    st->in.close(ignored);
    st->out.close(ignored);
    st->kill_and_reap();
  }
};

pid_t spawn_helper(const std::string& program, const std::string& action, int stdin_fd,
                   int stdout_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (int rc = ::posix_spawn_file_actions_init(&actions); rc != 0)
    throw_errno(rc, "cannot run " + program);
  if (int rc = ::posix_spawnattr_init(&attr); rc != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    throw_errno(rc, "cannot run " + program);
  }
  ::posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  // Helpers print their errors on stdout; stderr would only reach whoever
  // runs this process (a server's log), so it goes nowhere, as with docker.
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  // A caller that blocks or ignores signals must not hand that to the helper.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::string arg0 = program, arg1 = action;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, program.c_str(), &actions, &attr, argv, environ);
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT)
    throw coras::error(error_code(rc, boost::system::generic_category()),
                       "cannot run credential helper " + program + ": not found on PATH");
  if (rc != 0) throw_errno(rc, "cannot run credential helper " + program);
  return pid;
}

// What a failed helper printed, as one short line for an error message.
// Only failure output is shown: success output holds the secret.
std::string failure_text(const helper_output& r) {
  std::string text = r.out;
  for (auto& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "no message";
  text = text.substr(first, text.find_last_not_of(' ') - first + 1);
  return coras::detail::quote(text);
}

std::string status_text(int status) {
  return status < 0 ? "killed by a signal" : "exit status " + std::to_string(status);
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

template <class T>
T run_sync(awaitable<T> op) {
  asio::io_context ioc;
  auto result = asio::co_spawn(ioc, std::move(op), asio::use_future);
  ioc.run();
  return result.get();
}

}  // namespace

awaitable<helper_output> run_helper(std::string helper, std::string action, std::string input,
                                    helper_limits limits) {
  if (helper.empty() || helper.find('/') != std::string::npos)
    throw coras::error(errc::invalid_response,
                       "invalid credential helper name " + coras::detail::quote(helper));
  const std::string program = "docker-credential-" + helper;
  const std::string what = program + " " + action;

  int in_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_fds) != 0)
    throw_errno(errno, "cannot run " + what);
  unique_fd in_parent(in_fds[0]), in_child(in_fds[1]);
  int out_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) throw_errno(errno, "cannot run " + what);
  unique_fd out_parent(out_fds[0]), out_child(out_fds[1]);

  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<child_state>(ex);
  run_guard guard{st};
  st->pid = spawn_helper(program, action, in_child.get(), out_child.get());
  in_child.reset();
  out_child.reset();  // else our own copy keeps stdout from reaching EOF
  st->in.assign(asio::local::stream_protocol(), in_parent.release());
  st->out.assign(out_parent.release());

  st->deadline.expires_after(limits.time);
  st->deadline.async_wait([st](error_code ec) {
    if (ec || st->finished) return;
    st->timed_out = true;
    st->kill_child();
    // A grandchild may hold stdout open after the helper died: stop reading.
    error_code ignored;
    st->in.close(ignored);
    st->out.close(ignored);
  });
  auto timeout_error = [&] {
    return coras::error(errc::timeout,
                        what + " did not finish within " + seconds_text(limits.time));
  };

  if (!input.empty()) {
    auto [ec, n] = co_await asio::async_write(st->in, asio::buffer(input), use_tuple);
    (void)n;
    if (st->timed_out) throw timeout_error();
    // EPIPE and friends: the helper exited without reading; its exit status
    // and output say why. Only the caller's cancellation stops here.
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
  }
  {
    error_code ignored;
    st->in.shutdown(asio::socket_base::shutdown_send, ignored);
    st->in.close(ignored);
  }

  helper_output result;
  std::array<char, 4096> buf;
  for (;;) {
    auto [ec, n] = co_await st->out.async_read_some(asio::buffer(buf), use_tuple);
    result.out.append(buf.data(), n);
    if (st->timed_out) throw timeout_error();
    if (result.out.size() > limits.output)
      throw coras::error(errc::size_limit_exceeded,
                         what + " wrote more than " + std::to_string(limits.output) + " bytes");
    if (ec == asio::error::eof) break;
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (ec) throw coras::error(ec, "cannot read the output of " + what + ": " + ec.message());
  }
  {
    error_code ignored;
    st->out.close(ignored);
  }

  // stdout is closed, so the helper is exiting: poll for it with a short,
  // growing delay rather than blocking the executor in waitpid.
  asio::steady_timer poll(ex);
  auto delay = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(st->pid, &status, WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r == st->pid || r < 0) {
      // r < 0 (ECHILD): SIGCHLD is ignored and the kernel reaped it; the
      // status is lost, so the output decides.
      st->reaped = true;
      result.status = r < 0 ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (st->timed_out) throw timeout_error();
    poll.expires_after(delay);
    co_await poll.async_wait(asio::use_awaitable);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
  co_return result;
}

std::string helper_server_url(std::string_view registry) {
  if (registry == "docker.io" || registry == "index.docker.io")
    return "https://index.docker.io/v1/";
  return std::string(registry);
}

bool is_not_found_message(std::string_view out) {
  return out.find(not_found_text) != std::string_view::npos;
}

std::optional<credential> parse_get_answer(std::string_view out) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(out, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto& obj = doc.get_object();
  std::string username, secret;
  for (auto [name, target] : {std::pair{"Username", &username}, std::pair{"Secret", &secret}}) {
    const auto* v = obj.if_contains(name);
    if (!v || v->is_null()) continue;
    if (!v->is_string()) return std::nullopt;
    *target = std::string(v->get_string());
  }
  credential c;
  if (username == token_username) {
    c.refresh_token = std::move(secret);
  } else {
    c.username = std::move(username);
    c.password = std::move(secret);
  }
  return c;
}

std::string store_request(std::string_view server_url, const credential& c) {
  boost::json::object req;
  req["ServerURL"] = server_url;
  if (!c.refresh_token.empty()) {
    req["Username"] = token_username;
    req["Secret"] = c.refresh_token;
  } else {
    req["Username"] = c.username;
    req["Secret"] = c.password;
  }
  return boost::json::serialize(req);
}

awaitable<credential> helper_get(std::string helper, std::string registry, helper_limits limits) {
  std::string url = helper_server_url(registry);
  std::string action = "get";
  auto r = co_await run_helper(helper, action, url, limits);
  if (r.status != 0) {
    if (is_not_found_message(r.out)) co_return credential{};
    throw coras::error(errc::invalid_response, "docker-credential-" + helper + " get failed (" +
                                                   status_text(r.status) + "): " + failure_text(r));
  }
  auto c = parse_get_answer(r.out);
  if (!c)
    throw coras::error(errc::invalid_response,
                       "docker-credential-" + helper +
                           " get did not answer {\"ServerURL\",\"Username\",\"Secret\"} JSON");
  co_return std::move(*c);
}

void helper_store(const std::string& helper, std::string_view registry, const credential& c,
                  helper_limits limits) {
  auto r =
      run_sync(run_helper(helper, "store", store_request(helper_server_url(registry), c), limits));
  if (r.status != 0)
    throw coras::error(errc::invalid_response, "docker-credential-" + helper + " store failed (" +
                                                   status_text(r.status) + "): " + failure_text(r));
}

bool helper_erase(const std::string& helper, std::string_view registry, helper_limits limits) {
  auto r = run_sync(run_helper(helper, "erase", helper_server_url(registry), limits));
  if (r.status == 0) return true;
  if (is_not_found_message(r.out)) return false;
  throw coras::error(errc::invalid_response, "docker-credential-" + helper + " erase failed (" +
                                                 status_text(r.status) + "): " + failure_text(r));
}

}  // namespace coras::auth::detail

// docker config.json and credential helpers: the lookup rules, reading and
// writing the file, and the helper protocol against a bash script named
// docker-credential-coras-test put first on PATH.
#include <coras/auth/docker_config.hpp>
#include <coras/core/error.hpp>

#include "auth/credential_helper.hpp"
#include "core/base64.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using coras::errc;
using coras::auth::credential;

namespace {

// Sets an environment variable for the scope, then restores it.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The fake helper. Its behaviour per action comes from $CORAS_TEST_HELPER_DIR/mode
// (default "ok"); it records each request's stdin as ACTION.in there.
constexpr const char* helper_script = R"(#!/bin/bash
dir=$CORAS_TEST_HELPER_DIR
action=$1
input=$(cat)
printf '%s' "$input" >"$dir/$action.in"
mode=$(cat "$dir/mode" 2>/dev/null || echo ok)
case "$action:$mode" in
  get:ok) printf '{"ServerURL":"%s","Username":"bob","Secret":"hunter2"}\n' "$input" ;;
  get:token) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-1"}\n' "$input" ;;
  *:notfound) echo "credentials not found in native keychain"; exit 1 ;;
  *:fail) echo "the keychain is locked"; exit 3 ;;
  get:garbage) echo "secret-garbage" ;;
  get:slow) exec sleep 20 ;;
  get:big) head -c 100000 /dev/zero | tr '\0' x ;;
  store:ok|erase:ok) ;;
  *) echo "unexpected $action:$mode"; exit 9 ;;
esac
)";

// A temporary directory holding config files and the helper, first on PATH.
struct sandbox {
  fs::path dir;
  fs::path config;
  std::optional<scoped_env> path_env;
  std::optional<scoped_env> helper_env;

  sandbox() {
    std::string templ = (fs::temp_directory_path() / "coras-auth-test-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    dir = templ;
    config = dir / "config.json";
    const auto bin = dir / "bin";
    fs::create_directory(bin);
    const auto helper = bin / "docker-credential-coras-test";
    write(helper, helper_script);
    fs::permissions(helper, fs::perms::owner_all);
    const char* old_path = std::getenv("PATH");
    path_env.emplace("PATH",
                     (bin.string() + ":" + (old_path ? old_path : "/usr/bin:/bin")).c_str());
    helper_env.emplace("CORAS_TEST_HELPER_DIR", dir.c_str());
  }
  ~sandbox() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static void write(const fs::path& p, std::string_view text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
  }
  void write_config(std::string_view text) const { write(config, text); }
  void helper_mode(std::string_view mode) const { write(dir / "mode", mode); }
  std::string read(const fs::path& p) const {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string helper_input(std::string_view action) const {
    return read(dir / (std::string(action) + ".in"));
  }
  json::object config_json() const { return json::parse(read(config)).as_object(); }
};

template <class T>
T run(asio::awaitable<T> op) {
  asio::io_context ioc;
  auto f = asio::co_spawn(ioc, std::move(op), asio::use_future);
  ioc.run();
  return f.get();
}

credential lookup(const fs::path& config, std::string registry) {
  auto provider = coras::auth::docker_config_credentials(config);
  return run(provider(std::move(registry)));
}

template <class F>
std::optional<coras::error> error_of(F f) {
  try {
    f();
  } catch (const coras::error& e) {
    return e;
  }
  return std::nullopt;
}

std::string auth_of(std::string_view user_colon_password) {
  return coras::detail::base64_encode(user_colon_password);
}

credential user(std::string u, std::string p) {
  credential c;
  c.username = std::move(u);
  c.password = std::move(p);
  return c;
}

}  // namespace

TEST_CASE("docker config: the default path", "[auth][docker-config]") {
  {
    scoped_env dc("DOCKER_CONFIG", "/etc/somewhere");
    CHECK(coras::auth::default_docker_config_path() == "/etc/somewhere/config.json");
  }
  scoped_env dc("DOCKER_CONFIG", nullptr);
  scoped_env home("HOME", "/home/someone");
  CHECK(coras::auth::default_docker_config_path() == "/home/someone/.docker/config.json");
  scoped_env empty("DOCKER_CONFIG", "");
  CHECK(coras::auth::default_docker_config_path() == "/home/someone/.docker/config.json");
}

TEST_CASE("docker config: a missing or empty file is anonymous", "[auth][docker-config]") {
  sandbox s;
  CHECK(lookup(s.config, "r.example").empty());
  s.write_config("");
  CHECK(lookup(s.config, "r.example").empty());
  s.write_config("{}");
  CHECK(lookup(s.config, "r.example").empty());
  s.write_config(R"({"auths": {}, "credHelpers": {}})");
  CHECK(lookup(s.config, "r.example").empty());
}

TEST_CASE("docker config: auths entries", "[auth][docker-config]") {
  sandbox s;
  s.write_config(R"({
    "auths": {
      "r.example": {"auth": ")" +
                 auth_of("alice:pa:ss") + R"("},
      "https://s.example": {"auth": ")" +
                 auth_of("sam:pw") + R"("},
      "http://t.example/v1/": {"auth": ")" +
                 auth_of("tim:pw") + R"("},
      "u.example": {"username": "ursula", "password": "pw2"},
      "v.example": {"auth": ")" +
                 auth_of(":") + R"(", "identitytoken": "idt"},
      "w.example": {"registrytoken": "bearer-1"},
      "x.example:5000": {"auth": ")" +
                 auth_of("xavier:pw") + R"(", "email": "x@example.com"},
      "y.example": {"auth": ")" +
                 auth_of("<token>:") + R"(", "identitytoken": "idt2"}
    },
    "experimental": "enabled"
  })");
  // Split at the first ':': the password may hold more.
  CHECK(lookup(s.config, "r.example") == user("alice", "pa:ss"));
  CHECK(lookup(s.config, "s.example") == user("sam", "pw"));
  CHECK(lookup(s.config, "t.example") == user("tim", "pw"));
  CHECK(lookup(s.config, "u.example") == user("ursula", "pw2"));
  credential token;
  token.refresh_token = "idt";
  CHECK(lookup(s.config, "v.example") == token);
  credential access;
  access.access_token = "bearer-1";
  CHECK(lookup(s.config, "w.example") == access);
  CHECK(lookup(s.config, "x.example:5000") == user("xavier", "pw"));
  token.refresh_token = "idt2";
  CHECK(lookup(s.config, "y.example") == token);
  // A port is part of the name; another registry is anonymous.
  CHECK(lookup(s.config, "x.example").empty());
  CHECK(lookup(s.config, "r.example:443").empty());
  CHECK(lookup(s.config, "other.example").empty());
}

TEST_CASE("docker config: the exact key wins over https:// and host matches",
          "[auth][docker-config]") {
  sandbox s;
  s.write_config(R"({"auths": {
      "https://r.example/v1/": {"auth": ")" +
                 auth_of("third:pw") + R"("},
      "https://r.example": {"auth": ")" +
                 auth_of("second:pw") + R"("},
      "r.example": {"auth": ")" +
                 auth_of("first:pw") + R"("}}})");
  CHECK(lookup(s.config, "r.example").username == "first");
  s.write_config(R"({"auths": {
      "https://r.example/v1/": {"auth": ")" +
                 auth_of("third:pw") + R"("},
      "https://r.example": {"auth": ")" +
                 auth_of("second:pw") + R"("}}})");
  CHECK(lookup(s.config, "r.example").username == "second");
}

TEST_CASE("docker config: Docker Hub's aliases", "[auth][docker-config]") {
  sandbox s;
  s.write_config(R"({"auths": {"https://index.docker.io/v1/": {"auth": ")" + auth_of("hubuser:pw") +
                 R"("}}})");
  CHECK(lookup(s.config, "docker.io") == user("hubuser", "pw"));
  s.write_config(R"({"auths": {"index.docker.io": {"auth": ")" + auth_of("hub2:pw") + R"("}}})");
  CHECK(lookup(s.config, "docker.io") == user("hub2", "pw"));
  s.write_config(R"({"auths": {"docker.io": {"auth": ")" + auth_of("hub3:pw") + R"("}}})");
  CHECK(lookup(s.config, "docker.io") == user("hub3", "pw"));
  // Not the other way round for other registries.
  CHECK(lookup(s.config, "quay.io").empty());
}

TEST_CASE("docker config: malformed files fail naming the file", "[auth][docker-config]") {
  sandbox s;
  const std::pair<const char*, const char*> cases[] = {
      {"{\"auths\": {", "not JSON"},
      {"[]", "not a JSON object"},
      {R"({"auths": []})", "\"auths\" is not an object"},
      {R"({"auths": {"r.example": "x"}})", "auths[\"r.example\"] is not an object"},
      {R"({"auths": {"r.example": {"auth": 7}}})", "auths[\"r.example\"].auth is not a string"},
      {R"({"auths": {"r.example": {"auth": "s3cr*t!"}}})", "is not base64"},
      {R"({"credHelpers": {"r.example": 1}})", "credHelpers[\"r.example\"] is not a string"},
      {R"({"credsStore": true})", "\"credsStore\" is not a string"},
  };
  for (auto [text, why] : cases) {
    INFO(text);
    s.write_config(text);
    auto e = error_of([&] { lookup(s.config, "r.example"); });
    REQUIRE(e);
    CHECK(e->code() == errc::invalid_response);
    CHECK_THAT(e->what(), Catch::Contains(s.config.string()) && Catch::Contains(why));
    CHECK_THAT(e->what(), !Catch::Contains("s3cr"));
  }
  // No ':' in the decoded auth: the message does not show what it decoded to.
  s.write_config(R"({"auths": {"r.example": {"auth": ")" + auth_of("justasecret") + R"("}}})");
  auto e = error_of([&] { lookup(s.config, "r.example"); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Catch::Contains("user:password") && !Catch::Contains("justasecret"));
}

TEST_CASE("docker config: credential helpers' get", "[auth][docker-config][helper]") {
  sandbox s;
  s.write_config(R"({"credHelpers": {"r.example": "coras-test"},
                     "auths": {"r.example": {"auth": ")" +
                 auth_of("file:pw") + R"("}}})");
  // credHelpers[R] comes before auths.
  CHECK(lookup(s.config, "r.example") == user("bob", "hunter2"));
  CHECK(s.helper_input("get") == "r.example");
  // Other registries do not go to that helper.
  CHECK(lookup(s.config, "other.example").empty());

  s.helper_mode("token");
  credential token;
  token.refresh_token = "refresh-1";
  CHECK(lookup(s.config, "r.example") == token);

  s.helper_mode("notfound");
  CHECK(lookup(s.config, "r.example").empty());

  s.helper_mode("fail");
  auto e = error_of([&] { lookup(s.config, "r.example"); });
  REQUIRE(e);
  CHECK(e->code() == errc::invalid_response);
  CHECK_THAT(e->what(),
             Catch::Contains("docker-credential-coras-test get failed (exit status 3)") &&
                 Catch::Contains("the keychain is locked") &&
                 Catch::Contains("credHelpers[\"r.example\"]") &&
                 Catch::Contains(s.config.string()));

  s.helper_mode("garbage");
  e = error_of([&] { lookup(s.config, "r.example"); });
  REQUIRE(e);
  CHECK(e->code() == errc::invalid_response);
  CHECK_THAT(e->what(), !Catch::Contains("secret-garbage"));
}

TEST_CASE("docker config: credsStore comes after auths", "[auth][docker-config][helper]") {
  sandbox s;
  // docker leaves {} beside a credsStore: that entry does not count.
  s.write_config(R"({"credsStore": "coras-test",
                     "auths": {"r.example": {}, "https://index.docker.io/v1/": {},
                               "f.example": {"auth": ")" +
                 auth_of("file:pw") + R"("}}})");
  CHECK(lookup(s.config, "r.example") == user("bob", "hunter2"));
  CHECK(s.helper_input("get") == "r.example");
  CHECK(lookup(s.config, "f.example") == user("file", "pw"));
  // Docker Hub's server URL is docker's.
  CHECK(lookup(s.config, "docker.io") == user("bob", "hunter2"));
  CHECK(s.helper_input("get") == "https://index.docker.io/v1/");
}

TEST_CASE("docker config: a helper that is not on PATH", "[auth][docker-config][helper]") {
  sandbox s;
  s.write_config(R"({"credsStore": "coras-absent"})");
  auto e = error_of([&] { lookup(s.config, "r.example"); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Catch::Contains("docker-credential-coras-absent") &&
                            Catch::Contains("not found on PATH") && Catch::Contains("credsStore"));
  s.write_config(R"({"credsStore": "../bin/sh"})");
  e = error_of([&] { lookup(s.config, "r.example"); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Catch::Contains("invalid credential helper name"));
}

TEST_CASE("credential helper: time and size limits kill the helper", "[auth][helper]") {
  sandbox s;
  using coras::auth::detail::run_helper;
  coras::auth::detail::helper_limits limits;
  limits.time = std::chrono::milliseconds(300);
  s.helper_mode("slow");
  const auto start = std::chrono::steady_clock::now();
  auto e = error_of([&] { run(run_helper("coras-test", "get", "r.example", limits)); });
  REQUIRE(e);
  CHECK(e->code() == errc::timeout);
  CHECK_THAT(e->what(), Catch::Contains("did not finish within 300 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));

  s.helper_mode("big");
  e = error_of([&] { run(run_helper("coras-test", "get", "r.example")); });
  REQUIRE(e);
  CHECK(e->code() == errc::size_limit_exceeded);

  // No zombie is left behind: every child was reaped.
  CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
}

TEST_CASE("credential helper: cancellation kills the helper", "[auth][helper]") {
  sandbox s;
  s.helper_mode("slow");
  asio::io_context ioc;
  asio::cancellation_signal cancel;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(ioc, coras::auth::detail::run_helper("coras-test", "get", "r.example"),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&](std::exception_ptr e, coras::auth::detail::helper_output) {
                       failure = e;
                       done = true;
                     }));
  asio::steady_timer later(ioc, std::chrono::milliseconds(100));
  later.async_wait([&](coras::error_code) { cancel.emit(asio::cancellation_type::terminal); });
  const auto start = std::chrono::steady_clock::now();
  ioc.run();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  REQUIRE(done);
  REQUIRE(failure);
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == asio::error::operation_aborted);
  }
  CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
}

TEST_CASE("credential helper: get answers and store requests", "[auth][helper]") {
  using namespace coras::auth::detail;
  CHECK(parse_get_answer(R"({"ServerURL":"r","Username":"u","Secret":"s"})") == user("u", "s"));
  credential token;
  token.refresh_token = "s";
  CHECK(parse_get_answer(R"({"ServerURL":"r","Username":"<token>","Secret":"s"})") == token);
  CHECK(parse_get_answer("{}") == credential{});
  CHECK_FALSE(parse_get_answer("nope").has_value());
  CHECK_FALSE(parse_get_answer(R"({"Username": 1})").has_value());
  CHECK(json::parse(store_request("r", user("u", "p"))) ==
        json::parse(R"({"ServerURL":"r","Username":"u","Secret":"p"})"));
  CHECK(json::parse(store_request("r", token)) ==
        json::parse(R"({"ServerURL":"r","Username":"<token>","Secret":"s"})"));
  CHECK(helper_server_url("docker.io") == "https://index.docker.io/v1/");
  CHECK(helper_server_url("r.example:5000") == "r.example:5000");
}

TEST_CASE("docker config: store and erase in auths", "[auth][docker-config][store]") {
  sandbox s;
  // A missing directory is made, owner-only.
  const auto nested = s.dir / "new" / "config.json";
  coras::auth::store_docker_credential(nested, "r.example", user("alice", "s3cret"));
  CHECK((fs::status(s.dir / "new").permissions() & fs::perms::all) == fs::perms::owner_all);
  CHECK((fs::status(nested).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(lookup(nested, "r.example") == user("alice", "s3cret"));

  s.write_config(R"({
    "auths": {
      "other.example": {"auth": ")" +
                 auth_of("o:p") + R"("},
      "https://r.example": {"auth": ")" +
                 auth_of("old:pw") + R"("},
      "r.example": {"auth": ")" +
                 auth_of("old:pw") + R"(", "email": "a@example.com"}
    },
    "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    "credHelpers": {"gcr.io": "gcloud"},
    "experimental": "enabled"
  })");
  ::chmod(s.config.c_str(), 0644);
  coras::auth::store_docker_credential(s.config, "r.example", user("alice", "s3cret"));
  CHECK((fs::status(s.config).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  auto doc = s.config_json();
  CHECK(doc.at("experimental") == "enabled");
  CHECK(doc.at("proxies") == json::parse(R"({"default": {"httpProxy": "http://proxy:3128"}})"));
  CHECK(doc.at("credHelpers") == json::parse(R"({"gcr.io": "gcloud"})"));
  const auto& auths = doc.at("auths").as_object();
  CHECK(auths.size() == 2);  // the https:// alias went
  CHECK(auths.at("other.example").at("auth").as_string() == auth_of("o:p"));
  CHECK(auths.at("r.example").at("auth").as_string() == auth_of("alice:s3cret"));
  CHECK(auths.at("r.example").at("email") == "a@example.com");
  CHECK(lookup(s.config, "r.example") == user("alice", "s3cret"));
  // No temporary file is left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(s.dir)) ++files;
  CHECK(files == 3);  // bin, new, config.json

  credential token;
  token.refresh_token = "idt";
  coras::auth::store_docker_credential(s.config, "docker.io", token);
  CHECK(s.config_json().at("auths").at("https://index.docker.io/v1/") ==
        json::parse(R"({"identitytoken": "idt"})"));
  CHECK(lookup(s.config, "docker.io") == token);

  CHECK(coras::auth::erase_docker_credential(s.config, "r.example"));
  doc = s.config_json();
  CHECK_FALSE(doc.at("auths").as_object().contains("r.example"));
  CHECK(doc.at("auths").as_object().contains("other.example"));
  CHECK(doc.at("auths").as_object().contains("https://index.docker.io/v1/"));
  CHECK(doc.at("experimental") == "enabled");
  CHECK(lookup(s.config, "r.example").empty());
  CHECK_FALSE(coras::auth::erase_docker_credential(s.config, "r.example"));
  CHECK(coras::auth::erase_docker_credential(s.config, "docker.io"));
  CHECK_FALSE(coras::auth::erase_docker_credential(s.dir / "absent.json", "r.example"));
}

// Found by fuzz/docker_config.cpp: a registry name with bytes that are not
// UTF-8 became a key written as it was, and the file no longer parsed (for
// coras or docker).
TEST_CASE("docker config: store refuses a name that is not a registry",
          "[auth][docker-config][fuzz]") {
  sandbox s;
  s.write_config(R"({"auths":{}})");
  for (std::string_view bad :
       {std::string_view("r\xff.example"), std::string_view("a b"), std::string_view("")}) {
    auto e = error_of([&] { coras::auth::store_docker_credential(s.config, bad, user("a", "b")); });
    REQUIRE(e);
    CHECK(e->code() == errc::invalid_argument);
    CHECK(s.read(s.config) == R"({"auths":{}})");
  }
  coras::auth::store_docker_credential(s.config, "r.example:5000", user("a", "b"));
  CHECK(lookup(s.config, "r.example:5000") == user("a", "b"));
}

// Found by fuzz/docker_config.cpp: a number past a double's range (kept
// from another tool's member) was rewritten as `Infinity`, which is not
// JSON, and the config no longer parsed.
TEST_CASE("docker config: store never writes a file that does not parse",
          "[auth][docker-config][fuzz]") {
  sandbox s;
  const std::string text = R"({"other":[1e400],"auths":{}})";
  s.write_config(text);
  auto e = error_of(
      [&] { coras::auth::store_docker_credential(s.config, "r.example", user("a", "b")); });
  REQUIRE(e);
  CHECK(e->code() == errc::invalid_response);
  CHECK(s.read(s.config) == text);
}

TEST_CASE("docker config: store refuses to overwrite a malformed file", "[auth][docker-config]") {
  sandbox s;
  s.write_config("{not json");
  auto e = error_of(
      [&] { coras::auth::store_docker_credential(s.config, "r.example", user("a", "b")); });
  REQUIRE(e);
  CHECK(e->code() == errc::invalid_response);
  CHECK(s.read(s.config) == "{not json");
}

TEST_CASE("docker config: store and erase through helpers", "[auth][docker-config][helper]") {
  sandbox s;
  s.write_config(R"({"credsStore": "coras-test",
                     "auths": {"r.example": {"auth": ")" +
                 auth_of("stale:pw") + R"("}},
                     "experimental": "enabled"})");
  coras::auth::store_docker_credential(s.config, "r.example", user("alice", "s3cret"));
  CHECK(json::parse(s.helper_input("store")) ==
        json::parse(R"({"ServerURL":"r.example","Username":"alice","Secret":"s3cret"})"));
  // The stale file entry would shadow the helper: only its credential goes.
  auto doc = s.config_json();
  CHECK(doc.at("auths").at("r.example") == json::object());
  CHECK(doc.at("experimental") == "enabled");
  CHECK(doc.at("credsStore") == "coras-test");

  coras::auth::store_docker_credential(s.config, "docker.io", user("hub", "pw"));
  CHECK(json::parse(s.helper_input("store")).at("ServerURL") == "https://index.docker.io/v1/");

  CHECK(coras::auth::erase_docker_credential(s.config, "r.example"));
  CHECK(s.helper_input("erase") == "r.example");
  CHECK_FALSE(s.config_json().at("auths").as_object().contains("r.example"));
  s.helper_mode("notfound");
  CHECK_FALSE(coras::auth::erase_docker_credential(s.config, "r.example"));
  s.helper_mode("fail");
  auto e = error_of([&] { coras::auth::erase_docker_credential(s.config, "r.example"); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Catch::Contains("erase failed") && Catch::Contains("credsStore"));
  e = error_of(
      [&] { coras::auth::store_docker_credential(s.config, "r.example", user("a", "b")); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Catch::Contains("store failed"));

  // credHelpers[R] takes that registry to its own helper, with Docker Hub's keys.
  s.helper_mode("ok");
  s.write_config(R"({"credHelpers": {"r.example": "coras-test"}})");
  coras::auth::store_docker_credential(s.config, "r.example", user("carol", "pw"));
  CHECK(json::parse(s.helper_input("store")).at("Username") == "carol");
  CHECK(s.config_json() == json::parse(R"({"credHelpers": {"r.example": "coras-test"}})"));
}

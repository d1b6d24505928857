#include <coras/auth/docker_config.hpp>

#include "core/base64.hpp"
#include "core/text.hpp"
#include "credential_helper.hpp"
#include "detail/posix_file.hpp"
#include "docker_config_text.hpp"

#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coras::auth {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

// A config file past this is not a docker config; reading it whole on a
// client's strand would be the bigger problem.
constexpr std::size_t max_config_size = 4 * 1024 * 1024;

// The members of an `auths` entry that carry a credential; the others
// (`email`, `serveraddress`, unknown ones) are kept when an entry is rewritten.
constexpr const char* credential_members[] = {"auth", "username", "password", "identitytoken",
                                              "registrytoken"};

std::string quoted(const fs::path& p) { return "\"" + p.string() + "\""; }

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw coras::error(error_code(err, boost::system::generic_category()),
                     what + ": " + std::strerror(err));
}

[[noreturn]] void malformed(const fs::path& file, const std::string& why) {
  throw coras::error(errc::invalid_response,
                     "malformed docker config " + quoted(file) + ": " + why);
}

bool is_docker_hub(std::string_view registry) {
  return registry == "docker.io" || registry == "index.docker.io";
}

// The file's bytes; std::nullopt when it does not exist.
std::optional<std::string> read_config(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno(errno, "cannot read docker config " + quoted(file));
  }
  std::string bytes;
  char buf[16384];
  int err = 0;
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
    if (bytes.size() > max_config_size) {
      ::close(fd);
      throw coras::error(errc::size_limit_exceeded, "docker config " + quoted(file) +
                                                        " is larger than " +
                                                        std::to_string(max_config_size) + " bytes");
    }
  }
  ::close(fd);
  if (err != 0) throw_errno(err, "cannot read docker config " + quoted(file));
  return bytes;
}

// Parses and checks the members coras reads; the rest is kept as it is.
json::object parse_config(const fs::path& file, std::string_view text) {
  // docker reads an empty file as an empty config.
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec) malformed(file, "not JSON (" + ec.message() + ")");
  if (!doc.is_object()) malformed(file, "the top level is not a JSON object");
  auto& obj = doc.get_object();
  if (const auto* auths = obj.if_contains("auths"); auths && !auths->is_null()) {
    if (!auths->is_object()) malformed(file, "\"auths\" is not an object");
    for (const auto& [key, entry] : auths->get_object())
      if (!entry.is_object() && !entry.is_null())
        malformed(file, "auths[\"" + std::string(key) + "\"] is not an object");
  }
  if (const auto* helpers = obj.if_contains("credHelpers"); helpers && !helpers->is_null()) {
    if (!helpers->is_object()) malformed(file, "\"credHelpers\" is not an object");
    for (const auto& [key, name] : helpers->get_object())
      if (!name.is_string())
        malformed(file, "credHelpers[\"" + std::string(key) + "\"] is not a string");
  }
  if (const auto* store = obj.if_contains("credsStore"); store && !store->is_null())
    if (!store->is_string()) malformed(file, "\"credsStore\" is not a string");
  return std::move(obj);
}

std::optional<json::object> load(const fs::path& file) {
  auto text = read_config(file);
  if (!text) return std::nullopt;
  return parse_config(file, *text);
}

// The host an `auths` key names: scheme and path removed (docker's
// ConvertToHostname), so "https://r.example/v1/" names "r.example".
std::string_view key_host(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"})
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  return key.substr(0, key.find('/'));
}

// How well `key` names `registry`: 0 best; std::nullopt when it names another.
std::optional<int> key_rank(std::string_view key, std::string_view registry) {
  const bool hub = is_docker_hub(registry);
  if (key == registry) return 0;
  if (key.starts_with("https://") && key.substr(8) == registry) return 1;
  if (hub && key == "https://index.docker.io/v1/") return 2;
  if (hub && key == "index.docker.io") return 3;
  const auto host = key_host(key);
  if (host == registry) return 4;
  if (hub && is_docker_hub(host)) return 5;
  return std::nullopt;
}

// The key `auths` gets for `registry` (docker's for Docker Hub).
std::string canonical_key(std::string_view registry) {
  return is_docker_hub(registry) ? "https://index.docker.io/v1/" : std::string(registry);
}

std::string string_member(const json::object& entry, const char* name, std::string_view key,
                          const fs::path& file) {
  const auto* v = entry.if_contains(name);
  if (!v || v->is_null()) return {};
  if (!v->is_string())
    malformed(file, "auths[\"" + std::string(key) + "\"]." + name + " is not a string");
  return std::string(v->get_string());
}

// The credential an `auths` entry carries; std::nullopt for none (docker
// leaves `{}` entries beside a credsStore). Errors never show the values.
std::optional<credential> decode_entry(const json::object& entry, std::string_view key,
                                       const fs::path& file) {
  credential c;
  if (auto auth = string_member(entry, "auth", key, file); !auth.empty()) {
    // Some tools drop base64's padding; docker's own files have it.
    while (auth.size() % 4 != 0) auth += '=';
    auto decoded = coras::detail::base64_decode(auth);
    if (!decoded) malformed(file, "auths[\"" + std::string(key) + "\"].auth is not base64");
    const auto colon = decoded->find(':');
    if (colon == std::string::npos)
      malformed(file, "auths[\"" + std::string(key) + "\"].auth is not base64 of user:password");
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  } else {
    c.username = string_member(entry, "username", key, file);
    c.password = string_member(entry, "password", key, file);
  }
  c.refresh_token = string_member(entry, "identitytoken", key, file);
  c.access_token = string_member(entry, "registrytoken", key, file);
  // "<token>" marks an identity token in docker's helper protocol, not a name.
  if (!c.refresh_token.empty() && c.username == "<token>") c.username.clear();
  if (c.empty()) return std::nullopt;
  return c;
}

bool carries_credential(const json::value& entry) {
  if (!entry.is_object()) return false;
  for (const char* m : credential_members) {
    const auto* v = entry.get_object().if_contains(m);
    if (v && !(v->is_string() && v->get_string().empty()) && !v->is_null()) return true;
  }
  return false;
}

// The helper `doc` names for `registry`, and which member named it.
struct helper_choice {
  std::string name;
  std::string member;  // "credHelpers[\"r\"]" or "credsStore"
};

std::optional<helper_choice> specific_helper(const json::object& doc, std::string_view registry) {
  const auto* helpers = doc.if_contains("credHelpers");
  if (!helpers || !helpers->is_object()) return std::nullopt;
  // docker keys credHelpers by hostname; Docker Hub's is index.docker.io.
  std::vector<std::string> keys{std::string(registry)};
  if (is_docker_hub(registry))
    keys = {"docker.io", "index.docker.io", "https://index.docker.io/v1/"};
  for (const auto& key : keys)
    if (const auto* name = helpers->get_object().if_contains(key); name && name->is_string())
      return helper_choice{std::string(name->get_string()), "credHelpers[\"" + key + "\"]"};
  return std::nullopt;
}

std::optional<helper_choice> store_helper(const json::object& doc) {
  const auto* store = doc.if_contains("credsStore");
  if (!store || !store->is_string() || store->get_string().empty()) return std::nullopt;
  return helper_choice{std::string(store->get_string()), "credsStore"};
}

// Where the credential for `registry` lives, by the rules in docker_config.hpp.
struct source {
  std::optional<credential> entry;
  std::optional<helper_choice> helper;
};

source find_source(const json::object& doc, std::string_view registry, const fs::path& file) {
  if (auto h = specific_helper(doc, registry)) return {std::nullopt, std::move(h)};
  if (const auto* auths = doc.if_contains("auths"); auths && auths->is_object()) {
    std::optional<int> best_rank;
    std::optional<credential> best;
    for (const auto& [key, entry] : auths->get_object()) {
      const auto rank = key_rank(key, registry);
      if (!rank || !entry.is_object() || (best_rank && *best_rank <= *rank)) continue;
      if (auto c = decode_entry(entry.get_object(), key, file)) {
        best_rank = rank;
        best = std::move(c);
      }
    }
    if (best) return {std::move(best), std::nullopt};
  }
  return {std::nullopt, store_helper(doc)};
}

// Rethrows `e`, a coras::error from a helper, with the config member that
// named the helper appended.
[[noreturn]] void rethrow_in_context(const std::exception_ptr& e, const helper_choice& h,
                                     const fs::path& file) {
  try {
    std::rethrow_exception(e);
  } catch (const coras::error& failure) {
    throw coras::error(failure.code(),
                       std::string(failure.what()) + " (" + h.member + " in " + quoted(file) + ")");
  }
}

awaitable<credential> lookup(fs::path file, std::string registry) {
  auto doc = load(file);
  if (!doc) co_return credential{};
  auto found = find_source(*doc, registry, file);
  if (found.entry) co_return std::move(*found.entry);
  if (!found.helper) co_return credential{};
  credential c;
  std::exception_ptr failed;
  try {
    c = co_await detail::helper_get(found.helper->name, registry);
  } catch (const coras::error&) {
    failed = std::current_exception();
  }
  if (failed) rethrow_in_context(failed, *found.helper, file);
  co_return c;
}

// ---- writing ----

void append_indent(std::string& out, int depth) {
  out.append(static_cast<std::size_t>(depth), '\t');
}

// docker's layout (json.MarshalIndent with a tab), so the file stays readable.
void pretty(std::string& out, const json::value& v, int depth) {
  if (const auto* obj = v.if_object(); obj && !obj->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, member] : *obj) {
      if (!first) out += ",\n";
      first = false;
      append_indent(out, depth + 1);
      out += json::serialize(json::string(key));
      out += ": ";
      pretty(out, member, depth + 1);
    }
    out += '\n';
    append_indent(out, depth);
    out += '}';
  } else if (const auto* arr = v.if_array(); arr && !arr->empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& item : *arr) {
      if (!first) out += ",\n";
      first = false;
      append_indent(out, depth + 1);
      pretty(out, item, depth + 1);
    }
    out += '\n';
    append_indent(out, depth);
    out += ']';
  } else if (v.is_double() && !std::isfinite(v.get_double())) {
    // Boost.JSON reads a number past a double's range (1e400) as infinity
    // and would write it back as `Infinity`, which is not JSON: the file
    // would be left unreadable for coras and docker. Refused instead.
    throw coras::error(errc::invalid_response,
                       "docker config has a number out of range; not rewriting it");
  } else {
    out += json::serialize(v);
  }
}

// The file a write replaces: a symbolic link's target, so the link survives.
fs::path write_target(const fs::path& config) {
  std::error_code ec;
  if (fs::is_symlink(config, ec)) {
    auto target = fs::canonical(config, ec);
    if (!ec) return target;
  }
  return config;
}

void write_atomically(const fs::path& file, const json::object& doc) {
  auto dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code fec;
  if (!fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec) throw coras::error(fec, "cannot create " + quoted(dir) + ": " + fec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, fec);
  }
  std::string text;
  pretty(text, doc, 0);
  text += '\n';

  try {
    coras::detail::atomic_replace(file, text, /*durable=*/true, 0600);
  } catch (const coras::error& e) {
    throw coras::error(e.code(), "cannot write docker config " + quoted(file) + ": " + e.what());
  }
}

// Removes every `auths` key naming `registry` except `keep`. Returns (any
// removed, any removed that carried a credential).
std::pair<bool, bool> remove_entries(json::object& doc, std::string_view registry,
                                     std::string_view keep = {}) {
  auto* auths = doc.if_contains("auths");
  if (!auths || !auths->is_object()) return {false, false};
  auto& obj = auths->get_object();
  std::vector<std::string> doomed;
  for (const auto& [key, entry] : obj)
    if (key != keep && key_rank(key, registry)) doomed.emplace_back(key);
  bool with_credential = false;
  for (const auto& key : doomed) {
    with_credential = with_credential || carries_credential(obj.at(key));
    obj.erase(key);
  }
  return {!doomed.empty(), with_credential};
}

// Drops the credential members of every `auths` entry naming `registry`,
// keeping the entries (docker's `{}` beside a helper). Returns whether any
// member was dropped.
bool strip_entries(json::object& doc, std::string_view registry) {
  auto* auths = doc.if_contains("auths");
  if (!auths || !auths->is_object()) return false;
  bool changed = false;
  for (auto& [key, entry] : auths->get_object()) {
    if (!key_rank(key, registry) || !entry.is_object()) continue;
    for (const char* m : credential_members) changed = entry.get_object().erase(m) > 0 || changed;
  }
  return changed;
}

// The registry a credential is stored for becomes a key of the file: one
// that is not a registry name (bytes that are not UTF-8 among them, written
// as they are) would leave a file neither docker nor coras can read.
void check_store_name(std::string_view registry) {
  if (auto why = coras::check_registry(registry); !why.empty())
    throw coras::error(errc::invalid_argument, "cannot store a credential for " +
                                                   coras::detail::quote(registry) + ": " + why);
}

// `c` as the one `auths` entry for `registry` (other keys naming it removed,
// the entry's other members kept).
void put_entry(json::object& doc, std::string_view registry, const credential& c) {
  const auto key = canonical_key(registry);
  remove_entries(doc, registry, key);
  auto* auths = doc.if_contains("auths");
  if (!auths || !auths->is_object()) auths = &(doc["auths"] = json::object());
  json::object entry;
  if (const auto* old = auths->get_object().if_contains(key); old && old->is_object())
    entry = old->get_object();
  for (const char* m : credential_members) entry.erase(m);
  if (!c.username.empty() || !c.password.empty())
    entry["auth"] = coras::detail::base64_encode(c.username + ":" + c.password);
  if (!c.refresh_token.empty()) entry["identitytoken"] = c.refresh_token;
  if (!c.access_token.empty()) entry["registrytoken"] = c.access_token;
  auths->get_object()[key] = std::move(entry);
}

std::optional<helper_choice> helper_for(const json::object& doc, std::string_view registry) {
  if (auto h = specific_helper(doc, registry)) return h;
  return store_helper(doc);
}

template <class F>
auto in_context(const helper_choice& h, const fs::path& file, F f) -> decltype(f()) {
  std::exception_ptr failed;
  try {
    return f();
  } catch (const coras::error&) {
    failed = std::current_exception();
  }
  rethrow_in_context(failed, h, file);
}

}  // namespace

fs::path default_docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    return fs::path(dir) / "config.json";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "") / ".docker" / "config.json";
}

credential_provider docker_config_credentials(fs::path config) {
  // Not a coroutine itself: `lookup` copies the path into its own frame, so
  // the awaitable does not depend on this lambda staying alive.
  return [config = std::move(config)](std::string registry) {
    return lookup(config, std::move(registry));
  };
}

void store_docker_credential(const fs::path& config, std::string_view registry,
                             const credential& c) {
  check_store_name(registry);
  const auto target = write_target(config);
  auto doc = load(target).value_or(json::object{});
  if (auto h = helper_for(doc, registry)) {
    in_context(*h, config, [&] { detail::helper_store(h->name, registry, c); });
    if (strip_entries(doc, registry)) write_atomically(target, doc);
    return;
  }
  put_entry(doc, registry, c);
  write_atomically(target, doc);
}

bool erase_docker_credential(const fs::path& config, std::string_view registry) {
  const auto target = write_target(config);
  auto doc = load(target);
  if (!doc) return false;
  bool erased = false;
  if (auto h = helper_for(*doc, registry))
    erased = in_context(*h, config, [&] { return detail::helper_erase(h->name, registry); });
  auto [removed, with_credential] = remove_entries(*doc, registry);
  if (removed) write_atomically(target, *doc);
  return erased || with_credential;
}

namespace detail {

docker_config_answer docker_config_lookup(std::string_view text, std::string_view registry) {
  const fs::path file("config.json");
  auto doc = parse_config(file, text);
  auto found = find_source(doc, registry, file);
  docker_config_answer out;
  out.entry = std::move(found.entry);
  if (found.helper) out.helper = std::move(found.helper->name);
  return out;
}

std::optional<std::string> docker_config_with(std::string_view text, std::string_view registry,
                                              const credential& c) {
  check_store_name(registry);
  auto doc = parse_config(fs::path("config.json"), text);
  if (helper_for(doc, registry)) return std::nullopt;
  put_entry(doc, registry, c);
  std::string out;
  pretty(out, doc, 0);
  out += '\n';
  return out;
}

}  // namespace detail

}  // namespace coras::auth

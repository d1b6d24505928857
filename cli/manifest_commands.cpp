// The manifest commands: resolve, manifest get, manifest put, manifest
// delete. Each parses and checks its arguments first (mistakes exit 2 before
// any request), then runs one coroutine of repository calls; protocol logic
// stays in the library.
#include "commands.hpp"
#include "options.hpp"

#include <coras/core/byte_source.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace coras::cli {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// ---- usage texts ----

constexpr std::string_view resolve_text = R"(usage: coras resolve REF

Prints the digest ("sha256:…") of the manifest REF names. REF is
registry/repository:tag or registry/repository@digest.
)";

constexpr std::string_view manifest_text = R"(usage: coras manifest <command> ...

commands:
  get REF [-o FILE]               the manifest's bytes, to stdout or FILE
  put REF FILE [--media-type T]   push FILE as a manifest, print its digest
  delete REF                      delete a manifest (a tag is resolved first)

Run "coras manifest <command> --help" for a command's options.
)";

constexpr std::string_view manifest_get_text = R"(usage: coras manifest get REF [-o FILE]

Fetches the manifest REF names and writes its bytes, verified against their
digest, to stdout or FILE.

options:
  -o, --output FILE         write to FILE instead of stdout ("-": stdout)
)";

constexpr std::string_view manifest_put_text =
    R"(usage: coras manifest put REF FILE [--media-type TYPE]

Pushes FILE as a manifest under REF's tag, or under REF's digest (which must
be FILE's), or by FILE's digest when REF has neither. Prints the digest.

options:
  --media-type TYPE         the manifest's media type (default: the
                            "mediaType" member of FILE's JSON)
)";

constexpr std::string_view manifest_delete_text = R"(usage: coras manifest delete REF

Deletes the manifest REF names. A tag is resolved to its digest first
(registries refuse to delete by tag), so every tag of that manifest goes too.
)";

// ---- files ----

// Writes `bytes` to `path` ("" or "-": stdout).
void write_output(const std::string& path, const std::string& bytes) {
  if (path.empty() || path == "-") {
    std::cout.flush();
    write_stdout(bytes.data(), bytes.size());
    return;
  }
  // Atomically, as `blob get -o` does: a private name beside FILE, renamed
  // over it once complete, so FILE is the old content or the new, never a part.
  const std::filesystem::path target(path);
  auto temp = target;
  temp += ".coras-" + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (out) out.close();
    if (!out) {
      const int e = errno;
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw failure("cannot write " + path + ": " + std::strerror(e));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw failure("cannot write " + path + ": " + ec.message());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw failure("cannot open " + path + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw failure("cannot read " + path + ": " + std::strerror(errno));
  return bytes;
}

// The "mediaType" member of a manifest's JSON; usage_error when there is none.
std::string media_type_member(const std::string& path, const std::string& bytes) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(bytes, ec);
  if (ec)
    throw usage_error{path + " is not JSON (" + ec.message() +
                      "); give its media type with --media-type"};
  const auto* obj = doc.if_object();
  const auto* member = obj ? obj->if_contains("mediaType") : nullptr;
  const auto* type = member ? member->if_string() : nullptr;
  if (!type || type->empty())
    throw usage_error{path + " has no \"mediaType\" member; give its media type with --media-type"};
  return std::string(*type);
}

// ---- the operations (named coroutines with by-value parameters) ----

awaitable<void> resolve_op(remote::repository repo, std::string ref) {
  auto desc = co_await repo.async_resolve(ref);
  std::cout << desc.digest.str() << '\n';
}

awaitable<void> manifest_get_op(remote::repository repo, std::string ref, std::string output) {
  auto fetched = co_await repo.async_fetch_reference(ref);
  auto bytes = co_await fetched.body.async_read_all(repo.options().max_metadata_bytes);
  write_output(output, bytes);
}

awaitable<void> manifest_put_op(remote::repository repo, descriptor desc, std::string bytes,
                                std::string ref) {
  co_await repo.async_push_reference(desc, memory_source(std::move(bytes)), ref);
  std::cout << desc.digest.str() << '\n';
}

awaitable<void> manifest_delete_op(remote::repository repo, std::string ref) {
  auto desc = co_await repo.async_resolve(ref);
  co_await repo.async_delete(desc);
}

// ---- argument handling ----

int manifest_get(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--output", "-o", true}};
  return command("manifest get", manifest_get_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
                   const auto* out = a.get("--output");
                   session s(opts);
                   return s.run(manifest_get_op(s.repository(ref), ref.tag_or_digest(),
                                                out ? *out : std::string()));
                 });
}

int manifest_put(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--media-type", "", true}};
  return command(
      "manifest put", manifest_put_text, args, g, spec,
      [](const parsed_args& a, const global_options& opts) {
        expect_positionals(a, 2, 2);
        auto ref = parse_ref(a.positionals[0], ref_kind::any);
        const auto& path = a.positionals[1];
        const auto* type_option = a.get("--media-type");
        if (type_option && type_option->empty()) throw usage_error{"--media-type is empty"};
        auto bytes = read_file(path);
        descriptor desc;
        desc.media_type = type_option ? *type_option : media_type_member(path, bytes);
        desc.size = static_cast<std::int64_t>(bytes.size());
        desc.digest = digest::of(
            bytes, ref.has_digest() ? ref.digest().algorithm() : digest_algorithm::sha256);
        if (ref.has_digest() && desc.digest != ref.digest())
          throw failure(path + " has digest " + desc.digest.str() + ", not " + ref.digest().str());
        auto target = ref.tag_or_digest().empty() ? desc.digest.str() : ref.tag_or_digest();
        session s(opts);
        return s.run(manifest_put_op(s.repository(ref), std::move(desc), std::move(bytes), target));
      });
}

int manifest_delete(std::span<const std::string_view> args, const global_options& g) {
  return command("manifest delete", manifest_delete_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
                   session s(opts);
                   return s.run(manifest_delete_op(s.repository(ref), ref.tag_or_digest()));
                 });
}

}  // namespace

// ---- the commands ----

int resolve(std::span<const std::string_view> args, const global_options& g) {
  return command("resolve", resolve_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
                   session s(opts);
                   return s.run(resolve_op(s.repository(ref), ref.tag_or_digest()));
                 });
}

int manifest(std::span<const std::string_view> args, const global_options& g) {
  static constexpr subcommand subs[] = {
      {"get", manifest_get}, {"put", manifest_put}, {"delete", manifest_delete}};
  return group("manifest", manifest_text, args, g, subs);
}

}  // namespace coras::cli

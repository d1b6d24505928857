// The registry client commands: resolve, manifest, blob, tags, repos, tag.
// Each parses and checks its arguments first (mistakes exit 2 before any
// request), then runs one coroutine of repository calls; protocol logic stays
// in the library.
#include "commands.hpp"
#include "options.hpp"

#include <coras/content/titles.hpp>
#include <coras/core/byte_source.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
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

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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

constexpr std::string_view blob_text = R"(usage: coras blob <command> ...

commands:
  get REPO@DIGEST -o FILE|-       fetch a blob, verified
  put REPO FILE                   push FILE as a blob, print its digest
  delete REPO@DIGEST              delete a blob
  mount --from SRC DST@DIGEST     make a blob of SRC available in DST

Run "coras blob <command> --help" for a command's options.
)";

constexpr std::string_view blob_get_text = R"(usage: coras blob get REPO@DIGEST -o FILE|-

Fetches a blob. With -o FILE the bytes are staged in .coras-staging/ beside
FILE, under a name derived from DIGEST, and FILE appears only once they
match DIGEST. An interrupted download leaves its staged file behind, and the
next run continues from it (only when coras wrote it; its bytes are hashed
again, not trusted). Big blobs come as parallel ranges. A broken connection is resumed
where it stopped. With -o - the bytes are streamed to stdout as they arrive;
a mismatch is then reported at the end (exit 1, nothing more written).

options:
  -o, --output FILE|-       where to write the blob (required)
  --parallel N              ranges fetched at once for a blob of 64 MiB or
                            more (default 4; 1: one stream)
)";

constexpr std::string_view blob_put_text = R"(usage: coras blob put REPO FILE

Pushes FILE as a blob (application/octet-stream) to REPO
(registry/repository) and prints its digest.
)";

constexpr std::string_view blob_delete_text = R"(usage: coras blob delete REPO@DIGEST

Deletes the blob DIGEST from the repository.
)";

constexpr std::string_view blob_mount_text = R"(usage: coras blob mount --from SRC DST@DIGEST

Makes blob DIGEST of repository SRC available in repository DST (on the same
registry) without uploading it; a registry that cannot mount gets it streamed
from SRC instead.

options:
  --from SRC                the source repository: its path on DST's registry
                            ("team/app"), or DST's registry + "/" + that path
)";

constexpr std::string_view tags_text = R"(usage: coras tags REPO

Lists the tags of REPO (registry/repository), one per line, every page.
)";

constexpr std::string_view repos_text = R"(usage: coras repos REGISTRY

Lists the repositories of REGISTRY (host[:port]) from its catalog, one per
line, every page.
)";

constexpr std::string_view tag_text = R"(usage: coras tag REF NEWTAG...

Resolves REF (registry/repository:tag or @digest) and tags its manifest with
each NEWTAG, in order.
)";

// ---- output ----

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

awaitable<void> blob_get_file_op(remote::repository repo, std::string digest,
                                 std::filesystem::path path) {
  auto desc = co_await repo.async_resolve_blob(digest);
  // Only a partial file coras staged for this blob is continued.
  const auto have = content::staged_bytes(path, desc.digest, static_cast<std::uint64_t>(desc.size));
  if (have > 0)
    std::cerr << "coras: resuming from byte " << have << " of "
              << content::staging_for(path, desc.digest).partial.string() << '\n';
  co_await repo.async_fetch_to_file(desc, path);
}

awaitable<void> blob_get_stdout_op(remote::repository repo, std::string digest) {
  auto fetched = co_await repo.async_fetch_blob_reference(digest);
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    auto [read_ec, n] = co_await fetched.body.async_read_some(asio::buffer(buffer), use_tuple);
    if (n > 0) write_stdout(buffer.data(), n);
    if (read_ec == asio::error::eof) break;
    check(read_ec, fetched.body.diag());
  }
}

awaitable<void> blob_put_op(remote::repository repo, std::filesystem::path path) {
  auto desc = co_await repo.async_push_file("application/octet-stream", path);
  std::cout << desc.digest.str() << '\n';
}

awaitable<void> blob_delete_op(remote::repository repo, digest target) {
  descriptor desc;
  desc.media_type = "application/octet-stream";  // not a manifest type: the blob endpoint
  desc.digest = std::move(target);
  co_await repo.async_delete(desc);
}

awaitable<void> blob_mount_op(remote::repository source, remote::repository target,
                              std::string from, std::string digest) {
  // The mount request needs the blob's size: ask the source repository.
  auto desc = co_await source.async_resolve_blob(digest);
  co_await target.async_mount(desc, from, remote::content_factory{});
}

awaitable<void> tags_op(remote::repository repo) {
  auto print = [](std::span<const std::string> page) {
    for (const auto& t : page) std::cout << one_line(t) << '\n';  // a hostile registry's names
    return true;
  };
  co_await repo.async_tags({}, print);
}

awaitable<void> repos_op(remote::registry reg) {
  auto print = [](std::span<const std::string> page) {
    for (const auto& r : page) std::cout << one_line(r) << '\n';
    return true;
  };
  co_await reg.async_repositories({}, print);
}

awaitable<void> tag_op(remote::repository repo, std::string ref, std::vector<std::string> tags) {
  auto desc = co_await repo.async_resolve(ref);
  for (const auto& t : tags) {
    co_await repo.async_tag(desc, t);
  }
}

// ---- argument handling ----

// Dispatches "manifest get …" and "blob put …" style groups.
struct subcommand {
  std::string_view name;
  int (*run)(std::span<const std::string_view>, const global_options&);
};

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

int blob_get(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--output", "-o", true}, {"--parallel", "", true}};
  return command("blob get", blob_get_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::digest);
                   const auto* out = a.get("--output");
                   if (!out) throw usage_error{"-o FILE or -o - is required"};
                   if (out->empty()) throw usage_error{"-o needs a file name or -"};
                   session s(opts);
                   if (const auto* p = a.get("--parallel")) {
                     if (p->empty() || p->size() > 3 ||
                         p->find_first_not_of("0123456789") != std::string::npos || *p == "0")
                       throw usage_error{"--parallel needs a number from 1 to 999"};
                     const auto n = std::stoul(*p);
                     s.transfer().parallel_downloads = n;
                     if (n == 1) s.transfer().parallel_threshold = 0;  // one stream
                   }
                   if (*out == "-")
                     return s.run(blob_get_stdout_op(s.repository(ref), ref.digest().str()));
                   return s.run(blob_get_file_op(s.repository(ref), ref.digest().str(), *out));
                 });
}

int blob_put(std::span<const std::string_view> args, const global_options& g) {
  return command("blob put", blob_put_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 2, 2);
                   auto ref = parse_ref(a.positionals[0], ref_kind::repository);
                   session s(opts);
                   return s.run(blob_put_op(s.repository(ref), a.positionals[1]));
                 });
}

int blob_delete(std::span<const std::string_view> args, const global_options& g) {
  return command("blob delete", blob_delete_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::digest);
                   session s(opts);
                   return s.run(blob_delete_op(s.repository(ref), ref.digest()));
                 });
}

int blob_mount(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--from", "", true}};
  return command("blob mount", blob_mount_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto target = parse_ref(a.positionals[0], ref_kind::digest);
                   const auto* from_option = a.get("--from");
                   if (!from_option) throw usage_error{"--from SRC is required"};
                   std::string from = *from_option;
                   // "registry/path" naming the target's registry: keep only the path.
                   if (const auto prefix = target.registry() + "/"; from.starts_with(prefix))
                     from.erase(0, prefix.size());
                   if (auto problem = check_repository(from); !problem.empty())
                     throw usage_error{"--from \"" + *from_option + "\": " + problem};
                   auto source_ref = reference::from_parts(target.registry(), from);
                   session s(opts);
                   return s.run(blob_mount_op(s.repository(source_ref), s.repository(target),
                                              source_ref.repository(), target.digest().str()));
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

int blob(std::span<const std::string_view> args, const global_options& g) {
  static constexpr subcommand subs[] = {
      {"get", blob_get}, {"put", blob_put}, {"delete", blob_delete}, {"mount", blob_mount}};
  return group("blob", blob_text, args, g, subs);
}

int tags(std::span<const std::string_view> args, const global_options& g) {
  return command("tags", tags_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::repository);
                   session s(opts);
                   return s.run(tags_op(s.repository(ref)));
                 });
}

int repos(std::span<const std::string_view> args, const global_options& g) {
  return command("repos", repos_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   const auto& name = a.positionals[0];
                   if (auto problem = check_registry(name); !problem.empty())
                     throw usage_error{"invalid registry \"" + name + "\": " + problem};
                   session s(opts);
                   return s.run(repos_op(s.registry(name)));
                 });
}

int tag(std::span<const std::string_view> args, const global_options& g) {
  return command(
      "tag", tag_text, args, g, {}, [](const parsed_args& a, const global_options& opts) {
        expect_positionals(a, 2, a.positionals.size());
        auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
        std::vector<std::string> new_tags(a.positionals.begin() + 1, a.positionals.end());
        for (const auto& t : new_tags)
          if (auto problem = check_tag(t); !problem.empty())
            throw usage_error{"invalid tag \"" + t + "\": " + problem};
        session s(opts);
        return s.run(tag_op(s.repository(ref), ref.tag_or_digest(), std::move(new_tags)));
      });
}

}  // namespace coras::cli

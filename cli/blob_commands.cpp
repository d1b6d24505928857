// The blob commands: blob get, blob put, blob delete, blob mount. Each
// parses and checks its arguments first (mistakes exit 2 before any
// request), then runs one coroutine of repository calls; protocol logic stays
// in the library.
#include "commands.hpp"
#include "options.hpp"

#include <coras/content/titles.hpp>
#include <coras/core/digest.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <iostream>
#include <vector>

namespace coras::cli {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---- usage texts ----

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

// ---- the operations (named coroutines with by-value parameters) ----

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
  diagnostics d;
  for (;;) {
    // as_tuple, not the default token: the verified end (eof) is no failure.
    auto [read_ec, n] = co_await fetched.body.async_read_some(asio::buffer(buffer), d, use_tuple);
    if (n > 0) write_stdout(buffer.data(), n);
    if (read_ec == asio::error::eof) break;
    check(read_ec, d);
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

// ---- argument handling ----

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

// ---- the command ----

int blob(std::span<const std::string_view> args, const global_options& g) {
  static constexpr subcommand subs[] = {
      {"get", blob_get}, {"put", blob_put}, {"delete", blob_delete}, {"mount", blob_mount}};
  return group("blob", blob_text, args, g, subs);
}

}  // namespace coras::cli

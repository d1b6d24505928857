// coras copy: a whole image or artifact graph between registries and OCI
// layout directories (`coras::copy::copy`). As in manifest_commands.cpp,
// arguments are checked before any request; the stores and the graph walk are
// the library's.
#include "commands.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "transfer_common.hpp"

#include <coras/content/oci_layout.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/remote/repository_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <system_error>

namespace coras::cli {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

constexpr std::string_view copy_text =
    R"(usage: coras copy SRC DST [--concurrency N]
                  [--platform OS/ARCH[/VARIANT] | --all-platforms]
                  [--referrers] [--format json]

Copies the image or artifact SRC names, with everything it references
(manifests, configs, layers), to DST, and tags it there. What DST already
holds is skipped; blobs between two repositories of one registry are
mounted, not uploaded. Prints the digest of what DST's tag names.

SRC and DST are each a registry reference or an OCI image layout directory:
  registry/repository:tag, registry/repository@sha256:…
  oci:PATH[:TAG], oci:PATH@sha256:… (SRC only)
SRC needs a tag or a digest, except oci:PATH, which means oci:PATH:latest.
DST takes a tag, never a digest; without one it gets SRC's tag (when SRC
names a digest, a registry DST gets the manifest by digest only, and an
oci:PATH DST needs a TAG). An oci:PATH DST is created when missing.

options:
  --concurrency N           transfers at once (default 8)
  --platform OS/ARCH[/VARIANT]
                            when SRC is an index, copy only its manifest for
                            that platform (default: the one coras was built
                            for, e.g. linux/amd64); DST's tag then names that
                            manifest. arm64 means arm64/v8, arm arm/v7
  --all-platforms           when SRC is an index, copy all of it
  --referrers               also copy the manifests that refer to what is
                            copied (signatures, SBOMs…), recursively
  --format FORMAT           "text" (the default): the digest; "json": one line
                            {"digest","mediaType","size","copied","skipped",
                            "mounted","bytes","seconds"}
  --progress                progress lines on stderr even when it is not a
                            terminal
  --no-progress             no progress display on a terminal either
)";

bool json_format(const parsed_args& a) {
  const auto* format = single(a, "--format");
  if (!format || *format == "text") return false;
  if (*format == "json") return true;
  throw usage_error{"--format \"" + *format + "\": give text or json"};
}

// ---- where from, where to ----

// One side of a copy: a registry reference or an OCI layout directory.
struct location {
  std::string text;  // as given
  bool oci = false;
  fs::path dir;        // oci
  reference ref;       // registry (its tag or digest is in `object`)
  std::string object;  // the tag or digest; empty when none was given
  bool object_is_digest = false;
};

location parse_location(const std::string& text, bool source) {
  location loc;
  loc.text = text;
  const std::string_view side = source ? "SRC" : "DST";
  if (!text.starts_with("oci:")) {
    loc.ref = parse_ref(text, ref_kind::any);
    loc.object = loc.ref.tag_or_digest();
    loc.object_is_digest = loc.ref.has_digest();
    if (source && loc.object.empty())
      throw usage_error{"SRC \"" + text + "\" needs a tag (:tag) or a digest (@sha256:…)"};
    if (!source && loc.object_is_digest)
      throw usage_error{"DST \"" + text + "\" names a digest: give DST a tag, or none"};
    return loc;
  }
  loc.oci = true;
  std::string rest = text.substr(4);
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    std::string why;
    auto d = digest::try_parse(rest.substr(at + 1), &why);
    if (!d) throw usage_error{std::string(side) + " \"" + text + "\": " + why};
    if (!source)
      throw usage_error{"DST \"" + text + "\" names a digest: give oci:PATH:TAG, or oci:PATH"};
    loc.object = d->str();
    loc.object_is_digest = true;
    rest.resize(at);
  } else if (const auto colon = rest.rfind(':');
             colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    loc.object = rest.substr(colon + 1);
    if (auto problem = check_tag(loc.object); !problem.empty())
      throw usage_error{std::string(side) + " \"" + text + "\": invalid tag \"" + loc.object +
                        "\": " + problem};
    rest.resize(colon);
  }
  if (rest.empty()) throw usage_error{std::string(side) + " \"" + text + "\" names no directory"};
  loc.dir = rest;
  if (source && loc.object.empty()) loc.object = "latest";
  return loc;
}

// ---- the copy ----

// The message of a failed copy. The stores report some failures by their
// code alone ("not found"): those get said what was being copied.
std::string copy_failure_message(std::exception_ptr failed, const std::string& what) {
  try {
    std::rethrow_exception(failed);
  } catch (const boost::system::system_error& e) {
    const std::string text = e.what();
    if (text.starts_with(e.code().message())) return what + ": " + e.code().message();
    return text;
  } catch (const std::exception& e) {
    return e.what();
  }
}

// The copy of a root already resolved: its graph, then the tag.
awaitable<coras::copy::copy_result> copy_resolved(std::shared_ptr<content::store> src,
                                                  descriptor root,
                                                  std::shared_ptr<content::store> dst,
                                                  std::string dst_ref,
                                                  coras::copy::copy_options options) {
  auto result = co_await coras::copy::copy_graph(src, std::move(root), dst, std::move(options));
  if (!dst_ref.empty()) co_await dst->tag(result.root, dst_ref);
  co_return result;
}

awaitable<void> copy_op(std::shared_ptr<content::store> src, std::string src_ref,
                        std::shared_ptr<content::store> dst, std::string dst_ref,
                        coras::copy::copy_options options, bool json,
                        std::shared_ptr<progress> display, std::string what,
                        asio::any_io_executor work) {
  const auto started = std::chrono::steady_clock::now();
  // A registry SRC is resolved here first, with diagnostics, so that a
  // missing tag or a refused credential is reported with the registry's
  // answer; the copy then starts from that descriptor (no second request).
  std::optional<descriptor> root;
  if (auto* remote = dynamic_cast<remote::repository_store*>(src.get())) {
    auto repo = remote->repository();
    root = co_await repo.async_resolve(src_ref);
  }
  display->start();
  progress_stopper stopper{display};
  // The walk and the stores' file I/O run on the work pool; the HTTP
  // client's sockets stay on the io_context's thread.
  asio::awaitable<coras::copy::copy_result> job =
      root ? copy_resolved(std::move(src), std::move(*root), std::move(dst), std::move(dst_ref),
                           std::move(options))
           : coras::copy::copy(std::move(src), std::move(src_ref), std::move(dst),
                               std::move(dst_ref), std::move(options));
  auto [failed, result] =
      co_await asio::co_spawn(work, std::move(job), asio::as_tuple(asio::use_awaitable));
  if (failed) throw failure(copy_failure_message(failed, what));
  display->stop();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  if (!json) {
    std::cout << result.root.digest.str() << '\n';
    co_return;
  }
  boost::json::object o;
  o["digest"] = result.root.digest.str();
  o["mediaType"] = result.root.media_type;
  o["size"] = result.root.size;
  o["copied"] = result.copied;
  o["skipped"] = result.skipped;
  o["mounted"] = result.mounted;
  o["bytes"] = result.bytes;
  // Seconds with three decimals, not in boost::json's exponent notation.
  auto text = boost::json::serialize(o);
  char seconds[48];
  std::snprintf(seconds, sizeof seconds, ",\"seconds\":%.3f}", took.count());
  text.pop_back();  // the closing brace
  std::cout << text << seconds << '\n';
}

std::shared_ptr<content::store> open_store(session& s, const location& loc, bool source) {
  if (!loc.oci) return std::make_shared<remote::repository_store>(s.repository(loc.ref));
  content::oci_layout_options o;
  o.create = !source;  // a missing source is an error, not an empty layout
  return std::make_shared<content::oci_layout>(loc.dir, o);
}

}  // namespace

int copy(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--concurrency", "", true},    {"--platform", "", true},
                                         {"--all-platforms", "", false}, {"--referrers", "", false},
                                         {"--format", "", true},         {"--progress", "", false},
                                         {"--no-progress", "", false}};
  return command("copy", copy_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 2, 2);
                   auto src = parse_location(a.positionals[0], true);
                   auto dst = parse_location(a.positionals[1], false);
                   coras::copy::copy_options o;
                   o.concurrency = concurrency_option(a, o.concurrency);
                   o.platform = platform_option(a);
                   o.referrers = a.has("--referrers");
                   const bool json = json_format(a);
                   // DST without a tag: SRC's tag, or by digest only.
                   std::string dst_ref = dst.object;
                   if (dst_ref.empty() && !src.object_is_digest) dst_ref = src.object;
                   if (dst_ref.empty() && dst.oci)
                     throw usage_error{"DST \"" + dst.text +
                                       "\" needs a TAG (oci:PATH:TAG): SRC names a digest"};
                   auto display = progress_for(a, opts, "copied", "item");

                   session s(opts);
                   auto src_store = open_store(s, src, true);
                   std::shared_ptr<content::store> dst_store;
                   std::error_code ec;
                   if (src.oci && dst.oci &&
                       fs::weakly_canonical(src.dir, ec) == fs::weakly_canonical(dst.dir, ec))
                     dst_store = src_store;  // one layout: one index.json writer
                   else
                     dst_store = open_store(s, dst, false);
                   o.on_warning = [display](const coras::copy::copy_warning& w) {
                     display->note("coras: warning: " + one_line(w.message));
                   };
                   o.on_event = [display](const coras::copy::copy_event& e) {
                     using kind = coras::copy::copy_event::kind;
                     const auto id = e.desc.digest.str();
                     const auto label = short_digest(id);
                     switch (e.what) {
                       case kind::progress: display->update(id, label, e.done, e.total); break;
                       case kind::copied: display->end(id, label, "copied", e.total); break;
                       case kind::skipped: display->end(id, label, "skipped", e.total); break;
                       case kind::mounted: display->end(id, label, "mounted", e.total); break;
                     }
                   };
                   return s.run(copy_op(std::move(src_store), src.object, std::move(dst_store),
                                        std::move(dst_ref), std::move(o), json, display,
                                        "copy " + src.text + " to " + dst.text, s.work_executor()));
                 });
}

}  // namespace coras::cli

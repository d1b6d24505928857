// coras pull: an artifact's titled layers into files. Which file each layer
// goes to, and which titles are refused, is the library's
// (`content::titled_layer_targets`); the verified, resumable download too
// (`remote::repository::async_fetch_to_file`).
#include "commands.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "transfer_common.hpp"

#include <coras/content/titles.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/platform.hpp>

#include <sys/stat.h>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace coras::cli {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

constexpr std::string_view pull_text =
    R"(usage: coras pull REF [-o DIR] [--platform OS/ARCH[/VARIANT] | --all-platforms]

Fetches the manifest REF names and writes each of its layers that has a
title (org.opencontainers.image.title) to DIR/TITLE, verified against its
digest (bytes are staged in .coras-staging/ beside the file, under names
derived from the digest, which a later pull continues; DIR/TITLE appears
only once they match). Untitled layers are skipped with a note. A title
that is absolute, holds a ".." component, leads outside DIR (through a
symbolic link already in DIR, say), uses the name .coras-staging, or would
be one file with another title (equal, or equal but for case, or a file
another title needs as a directory) is refused before anything is written.
Prints the paths written, one per line, in the manifest's order.

When REF names an index (a multi-platform image or artifact), its manifest
for one platform is pulled: --platform's, or by default the one coras was
built for (e.g. linux/amd64); an index without it is an error that lists
the platforms it has. --all-platforms pulls every manifest of the index that
names a platform, each into DIR/OS_ARCH[_VARIANT] (DIR/linux_arm64_v8…).

options:
  -o, --output DIR          where to write (default: the current directory;
                            created when missing)
  --concurrency N           layers fetched at once (default 4)
  --platform OS/ARCH[/VARIANT]
                            which manifest of an index to pull (arm64 means
                            arm64/v8, arm arm/v7)
  --all-platforms           every platform of an index, each in its directory
  --progress                progress lines on stderr even when it is not a
                            terminal
  --no-progress             no progress display on a terminal either
)";

struct pull_item {
  descriptor layer;
  std::string title;
  fs::path path;   // where it goes (absolute, under the canonical DIR)
  fs::path shown;  // what is printed
};

struct pull_job {
  remote::repository repo;
  std::vector<pull_item> items;
  std::size_t next = 0;
  std::shared_ptr<progress> display;
};

// The bytes of a download so far: the staged file's allocated size (the
// ranges of a parallel download are written in place, out of order).
std::uint64_t partial_bytes(const fs::path& path, const digest& blob, std::uint64_t total) {
  const auto staged = content::staging_for(path, blob).partial;
  struct stat st {};
  if (::stat(staged.c_str(), &st) == 0)
    return std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size),
                                   static_cast<std::uint64_t>(st.st_blocks) * 512);
  if (::stat(path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == total)
    return total;
  return 0;
}

awaitable<void> pull_worker(std::shared_ptr<pull_job> job) {
  while (job->next < job->items.size()) {
    const auto i = job->next++;  // one thread runs the workers: no race
    const auto& item = job->items[i];
    const auto id = std::to_string(i);
    const auto size = static_cast<std::uint64_t>(item.layer.size);
    auto path = item.path;
    auto blob = item.layer.digest;
    job->display->watch(id, item.title, size,
                        [path, blob, size] { return partial_bytes(path, blob, size); });
    co_await job->repo.async_fetch_to_file(item.layer, item.path);
    job->display->end(id, item.title, "pulled", size);
  }
}

// The files the layers go to, every title checked before anything is
// written; the library's refusals become `failure`s with its message.
std::vector<content::titled_layer_target> checked_targets(const fs::path& base,
                                                          const std::vector<descriptor>& layers) {
  try {
    return content::titled_layer_targets(base, layers);
  } catch (const coras::error& e) {
    throw failure(e.what());
  }
}

// The layers of the manifest `json` of type `type`.
std::vector<descriptor> layers_of(const std::string& type, const std::string& json) {
  if (type == media_type::oci_artifact_manifest) return artifact_manifest::parse(json).blobs;
  return image_manifest::parse(json).layers;
}

// The layers an index's pull takes: the `want` platform's manifest's, or
// (nullopt) every platform's, each titled under DIR/OS_ARCH[_VARIANT]. The
// directory goes into the title, so that the library's checks of
// `titled_layer_targets` cover it as they cover any title.
awaitable<std::vector<descriptor>> index_layers(remote::repository repo, std::string json,
                                                std::string ref_text, std::optional<platform> want,
                                                std::shared_ptr<progress> display) {
  const auto index = image_index::parse(json);
  const auto limit = repo.options().max_metadata_bytes;
  if (want) {
    const auto child = select_platform(index.manifests, *want, ref_text + " (an index)");
    auto fetched = co_await repo.async_fetch_reference(child.digest.str());
    auto child_json = co_await fetched.body.async_read_all(limit);
    co_return layers_of(fetched.desc.media_type, child_json);
  }
  std::vector<descriptor> out;
  for (const auto& child : index.manifests) {
    // buildx's attestations are unknown/unknown: no platform's files.
    if (!child.platform || !media_type::is_manifest(child.media_type) ||
        media_type::is_index(child.media_type) ||
        (child.platform->os == "unknown" && child.platform->architecture == "unknown")) {
      display->note("coras: note: skipping " + child.digest.str() + " (" + child.media_type +
                    "): not a manifest for a platform");
      continue;
    }
    auto fetched = co_await repo.async_fetch_reference(child.digest.str());
    auto child_json = co_await fetched.body.async_read_all(limit);
    auto dir = to_string(normalize_platform(*child.platform));
    std::replace(dir.begin(), dir.end(), '/', '_');
    for (auto layer : layers_of(fetched.desc.media_type, child_json)) {
      if (auto it = layer.annotations.find(content::title_annotation);
          it != layer.annotations.end())
        it->second = dir + "/" + it->second;
      out.push_back(std::move(layer));
    }
  }
  co_return out;
}

awaitable<void> pull_op(remote::repository repo, std::string ref, std::string ref_text,
                        fs::path dir, std::size_t concurrency, std::optional<platform> want,
                        std::shared_ptr<progress> display) {
  auto fetched = co_await repo.async_fetch_reference(ref);
  auto json = co_await fetched.body.async_read_all(repo.options().max_metadata_bytes);
  const auto& type = fetched.desc.media_type;
  std::vector<descriptor> layers;
  if (media_type::is_index(type))
    layers = co_await index_layers(repo, std::move(json), ref_text, std::move(want), display);
  else
    layers = layers_of(type, json);

  std::error_code fs_ec;
  fs::create_directories(dir, fs_ec);
  if (fs_ec) throw failure("cannot create " + dir.string() + ": " + fs_ec.message());
  const auto base = fs::canonical(dir, fs_ec);
  if (fs_ec) throw failure("cannot open " + dir.string() + ": " + fs_ec.message());
  for (const auto& layer : layers)
    if (!layer.annotations.contains(content::title_annotation))
      display->note("coras: note: skipping layer " + layer.digest.str() + " (" + layer.media_type +
                    "): it has no " + std::string(content::title_annotation) + " annotation");
  auto job = std::make_shared<pull_job>(pull_job{repo, {}, 0, display});
  std::uint64_t total = 0;
  for (auto& t : checked_targets(base, layers)) {
    const auto& layer = layers[t.index];
    total += static_cast<std::uint64_t>(layer.size);
    job->items.push_back(pull_item{layer, std::move(t.title), std::move(t.path),
                                   (dir / t.relative).lexically_normal()});
  }
  if (job->items.empty()) {
    display->note("coras: note: " + ref_text + " has no titled layers: nothing written");
    co_return;
  }
  for (const auto& item : job->items) {
    fs::create_directories(item.path.parent_path(), fs_ec);
    if (fs_ec)
      throw failure("cannot create " + item.path.parent_path().string() + ": " + fs_ec.message());
  }

  display->expect(total);
  display->start();
  progress_stopper stopper{display};
  const auto workers = std::min(concurrency, job->items.size());
  co_await run_workers(job, workers, &pull_worker);
  display->stop();
  for (const auto& item : job->items) std::cout << item.shown.string() << '\n';
}

}  // namespace

int pull(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--output", "-o", true},  {"--concurrency", "", true},
                                         {"--platform", "", true},  {"--all-platforms", "", false},
                                         {"--progress", "", false}, {"--no-progress", "", false}};
  return command("pull", pull_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
                   fs::path dir = ".";
                   if (const auto* out = single(a, "--output")) {
                     if (out->empty()) throw usage_error{"-o needs a directory"};
                     dir = *out;
                   }
                   const auto concurrency = concurrency_option(a, default_file_concurrency);
                   auto want = platform_option(a);
                   auto display = progress_for(a, opts, "pulled", "file");
                   session s(opts);
                   return s.run(pull_op(s.repository(ref), ref.tag_or_digest(), a.positionals[0],
                                        dir, concurrency, std::move(want), display));
                 });
}

}  // namespace coras::cli

// coras push: files as an ORAS-style artifact. The CLI hashes and uploads the
// files; the manifest is packed by the library (`content::pack_artifact`).
#include "commands.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "transfer_common.hpp"

#include <coras/content/pack.hpp>
#include <coras/core/byte_source.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

namespace coras::cli {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

constexpr std::string_view default_layer_type = "application/vnd.oci.image.layer.v1.tar";

constexpr std::string_view push_text =
    R"(usage: coras push REF FILE[:MEDIATYPE]... [--artifact-type TYPE]
                  [--annotation KEY=VALUE]...

Pushes the FILEs as an artifact (as oras push does): each FILE a layer of
type MEDIATYPE (default application/vnd.oci.image.layer.v1.tar) titled with
its base name (org.opencontainers.image.title), the empty config
(application/vnd.oci.empty.v1+json), and an image manifest listing them in
command-line order, tagged with REF's tag (registry/repository:tag; with no
tag it is pushed by digest only). Blobs the repository already has are not
uploaded again. Prints the manifest's digest.

A FILE whose name holds ":" needs its :MEDIATYPE spelled out (the part after
the last ":" is taken as the media type when it holds a "/").

options:
  --artifact-type TYPE      the manifest's artifactType (a media type)
  --annotation KEY=VALUE    an annotation of the manifest (repeatable)
  --concurrency N           files pushed at once (default 4)
  --progress                progress lines on stderr even when it is not a
                            terminal
  --no-progress             no progress display on a terminal either
)";

// ---- argument checks ----

bool is_media_type(std::string_view type) {
  const auto slash = type.find('/');
  return !type.empty() && slash != 0 && slash != std::string_view::npos &&
         slash + 1 != type.size() && type.find('/', slash + 1) == std::string_view::npos &&
         type.find_first_of(" \t\r\n:") == std::string_view::npos;
}

void check_media_type_option(std::string_view option, const std::string& type) {
  if (type.empty()) throw usage_error{std::string(option) + " is empty"};
  if (!is_media_type(type))
    throw usage_error{std::string(option) + " \"" + type + "\" is not a media type (type/subtype)"};
}

struct push_file {
  fs::path path;
  std::string media_type;
  std::string title;
};

// "FILE[:MEDIATYPE]": the part after the last ':' is a media type when it
// holds a '/' (file names may hold ':' too).
push_file parse_push_file(const std::string& arg) {
  push_file f;
  f.media_type = std::string(default_layer_type);
  std::string path = arg;
  if (const auto colon = arg.rfind(':'); colon != std::string::npos && colon > 0) {
    const auto type = arg.substr(colon + 1);
    if (type.find('/') != std::string::npos) {
      if (!is_media_type(type))
        throw usage_error{"\"" + arg + "\": \"" + type + "\" is not a media type (type/subtype)"};
      f.media_type = type;
      path = arg.substr(0, colon);
    }
  }
  if (path.empty()) throw usage_error{"\"" + arg + "\" names no file"};
  f.path = path;
  f.title = f.path.filename().string();
  if (f.title.empty() || f.title == "." || f.title == "..")
    throw usage_error{"\"" + arg + "\" does not name a file"};
  return f;
}

// ---- the push ----

// Hashes a file (blocking reads: run it on the work pool).
awaitable<descriptor> hash_file(fs::path path, std::string media_type) {
  struct fd_guard {
    int fd;
    ~fd_guard() {
      if (fd >= 0) ::close(fd);
    }
  } in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw failure("cannot open " + path.string() + ": " + std::strerror(errno));
  digester hasher;
  std::vector<std::byte> buffer(1024 * 1024);
  for (;;) {
    auto n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
  }
  descriptor desc;
  desc.media_type = std::move(media_type);
  desc.size = static_cast<std::int64_t>(hasher.size());
  desc.digest = hasher.finish();
  co_return desc;
}

struct push_job {
  remote::repository repo;
  asio::any_io_executor work;
  std::vector<push_file> files;
  std::vector<descriptor> layers;  // by file index
  std::size_t next = 0;            // the next file a worker takes
  std::shared_ptr<progress> display;
};

awaitable<void> push_layer(std::shared_ptr<push_job> job, std::size_t i) {
  const auto& f = job->files[i];
  auto desc =
      co_await asio::co_spawn(job->work, hash_file(f.path, f.media_type), asio::use_awaitable);
  const auto size = static_cast<std::uint64_t>(desc.size);
  const auto id = std::to_string(i);
  auto present = co_await job->repo.async_exists(desc);
  if (present) {
    job->display->end(id, f.title, "skipped", size);
  } else {
    auto display = job->display;
    auto title = f.title;
    auto body = counted_source(
        file_source(f.path),
        [display, id, title, size](std::uint64_t done) { display->update(id, title, done, size); },
        64 * 1024);
    co_await job->repo.async_push(desc, std::move(body));
    job->display->end(id, f.title, "pushed", size);
  }
  job->layers[i] = std::move(desc);
}

awaitable<void> push_worker(std::shared_ptr<push_job> job) {
  while (job->next < job->files.size()) {
    const auto i = job->next++;  // one thread runs the workers: no race
    co_await push_layer(job, i);
  }
}

awaitable<void> push_op(std::shared_ptr<push_job> job, std::size_t concurrency, std::string tag,
                        std::string artifact_type, annotations notes) {
  job->display->start();
  progress_stopper stopper{job->display};
  const auto workers = std::min(concurrency, job->files.size());
  co_await run_workers(job, workers, &push_worker);

  std::vector<content::titled_blob> blobs;
  for (std::size_t i = 0; i < job->files.size(); ++i)
    blobs.push_back(content::titled_blob{std::move(job->layers[i]), job->files[i].title});
  content::pack_options pack;
  pack.artifact_type = std::move(artifact_type);
  pack.annotations = std::move(notes);
  auto packed = content::pack_artifact(std::move(blobs), std::move(pack));

  // The empty config, unless the repository has it already.
  auto present = co_await job->repo.async_exists(packed.config);
  if (!present) {
    auto config_type = std::string(media_type::oci_empty);
    auto config_bytes = std::string(empty_json);
    auto pushed =
        co_await job->repo.async_push_bytes(std::move(config_type), std::move(config_bytes));
  }

  const auto desc = packed.manifest;
  auto target = tag.empty() ? desc.digest.str() : tag;
  co_await job->repo.async_push_reference(desc, memory_source(std::move(packed.manifest_json)),
                                          std::move(target));
  job->display->stop();
  std::cout << desc.digest.str() << '\n';
}

}  // namespace

int push(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--artifact-type", "", true},
                                         {"--annotation", "", true},
                                         {"--concurrency", "", true},
                                         {"--progress", "", false},
                                         {"--no-progress", "", false}};
  return command(
      "push", push_text, args, g, spec, [](const parsed_args& a, const global_options& opts) {
        if (a.positionals.empty()) throw usage_error{"missing arguments"};
        auto ref = parse_ref(a.positionals[0], ref_kind::any);
        if (ref.has_digest())
          throw usage_error{"\"" + a.positionals[0] +
                            "\" names a digest: push takes registry/repository[:tag]"};
        std::string artifact_type;
        if (const auto* type = single(a, "--artifact-type")) {
          check_media_type_option("--artifact-type", *type);
          artifact_type = *type;
        }
        auto notes = parse_annotations(a.get_all("--annotation"));
        const auto concurrency = concurrency_option(a, default_file_concurrency);
        if (a.positionals.size() < 2) throw usage_error{"no FILE to push"};
        std::vector<push_file> files;
        std::set<std::string> titles;
        for (std::size_t i = 1; i < a.positionals.size(); ++i) {
          auto f = parse_push_file(a.positionals[i]);
          if (!titles.insert(f.title).second)
            throw usage_error{"two FILEs are named \"" + f.title +
                              "\" (titles are base names, and must differ)"};
          files.push_back(std::move(f));
        }
        auto display = progress_for(a, opts, "pushed", "file");
        for (const auto& f : files) check_regular_file(f.path, "push");
        session s(opts);
        const auto count = files.size();
        auto job = std::make_shared<push_job>(push_job{s.repository(ref), s.work_executor(),
                                                       std::move(files),
                                                       std::vector<descriptor>(count), 0, display});
        return s.run(push_op(job, concurrency, std::string(ref.tag()), std::move(artifact_type),
                             std::move(notes)));
      });
}

}  // namespace coras::cli

// The transfer commands: copy (a whole image or artifact graph between
// registries and OCI layout directories, `coras::copy::copy`), push (files as
// an ORAS-style artifact) and pull (an artifact's titled layers into files).
// As in client_commands.cpp, arguments are checked before any request; the
// stores, the graph walk and the verified file transfers are the library's.
#include "commands.hpp"
#include "options.hpp"
#include "progress.hpp"

#include <coras/content/oci_layout.hpp>
#include <coras/remote/repository_store.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/http/body.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <system_error>

namespace coras::cli {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view title_annotation = "org.opencontainers.image.title";
constexpr std::string_view default_layer_type = "application/vnd.oci.image.layer.v1.tar";
constexpr std::size_t default_file_concurrency = 4;

// ---- usage texts ----

constexpr std::string_view copy_text =
    R"(usage: coras copy SRC DST [--concurrency N] [--platform OS/ARCH[/VARIANT]]
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
                            that platform; DST's tag then names that manifest
  --referrers               also copy the manifests that refer to what is
                            copied (signatures, SBOMs…), recursively
  --format FORMAT           "text" (the default): the digest; "json": one line
                            {"digest","mediaType","size","copied","skipped",
                            "mounted","bytes","seconds"}
  --progress                progress lines on stderr even when it is not a
                            terminal
  --no-progress             no progress display on a terminal either
)";

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

constexpr std::string_view pull_text = R"(usage: coras pull REF [-o DIR]

Fetches the manifest REF names and writes each of its layers that has a
title (org.opencontainers.image.title) to DIR/TITLE, verified against its
digest (bytes go to DIR/TITLE.partial, which a later pull continues, and
DIR/TITLE appears only once they match). Untitled layers are skipped with a
note. A title that is absolute, holds a ".." component, or leads outside DIR
(through a symbolic link already in DIR, say) is refused before anything is
written. Prints the paths written, one per line, in the manifest's order.

options:
  -o, --output DIR          where to write (default: the current directory;
                            created when missing)
  --concurrency N           layers fetched at once (default 4)
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

// --concurrency N: 1 to 256; `fallback` when absent.
std::size_t concurrency_option(const parsed_args& a, std::size_t fallback) {
  const auto* n = single(a, "--concurrency");
  if (!n) return fallback;
  if (n->empty() || n->size() > 3 || n->find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(*n) == 0 || std::stoul(*n) > 256)
    throw usage_error{"--concurrency needs a number from 1 to 256"};
  return std::stoul(*n);
}

bool json_format(const parsed_args& a) {
  const auto* format = single(a, "--format");
  if (!format || *format == "text") return false;
  if (*format == "json") return true;
  throw usage_error{"--format \"" + *format + "\": give text or json"};
}

std::shared_ptr<progress> progress_for(const parsed_args& a, const global_options& g,
                                       std::string verb, std::string noun) {
  if (a.has("--progress") && a.has("--no-progress"))
    throw usage_error{"give --progress or --no-progress, not both"};
  return std::make_shared<progress>(
      choose_progress_mode(a.has("--progress"), a.has("--no-progress"), g.verbose), std::move(verb),
      std::move(noun));
}

// Stops a progress display when the operation leaves, however it leaves: the
// error message that follows a failure must not land inside the display.
struct progress_stopper {
  std::shared_ptr<progress> p;
  ~progress_stopper() { p->stop(true); }
};

// ---- copy: where from, where to ----

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

std::optional<platform> parse_platform(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto slash = text.find('/', from);
    parts.push_back(text.substr(from, slash == std::string::npos ? slash : slash - from));
    if (slash == std::string::npos) break;
    from = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    throw usage_error{"--platform \"" + text + "\" is not OS/ARCH or OS/ARCH/VARIANT"};
  platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

// ---- copy ----

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

awaitable<void> copy_op(std::shared_ptr<content::store> src, std::string src_ref,
                        std::shared_ptr<content::store> dst, std::string dst_ref,
                        coras::copy::copy_options options, bool json,
                        std::shared_ptr<progress> display, std::string what,
                        asio::any_io_executor work) {
  const auto started = std::chrono::steady_clock::now();
  // A registry SRC is resolved here first, with diagnostics, so that a
  // missing tag or a refused credential is reported with the registry's
  // answer; the copy then starts from that digest.
  if (auto* remote = dynamic_cast<remote::repository_store*>(src.get())) {
    auto repo = remote->repository();
    diagnostics d;
    auto [ec, root] = co_await repo.async_resolve(src_ref, d, use_tuple);
    check(ec, d);
    src_ref = root.digest.str();
  }
  display->start();
  progress_stopper stopper{display};
  // The walk and the stores' file I/O run on the work pool; the HTTP
  // client's sockets stay on the io_context's thread.
  auto [failed, result] =
      co_await asio::co_spawn(work,
                              coras::copy::copy(std::move(src), std::move(src_ref), std::move(dst),
                                                std::move(dst_ref), std::move(options)),
                              asio::as_tuple(asio::use_awaitable));
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

// ---- push ----

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
  diagnostics d;
  auto [exists_ec, present] = co_await job->repo.async_exists(desc, d, use_tuple);
  check(exists_ec, d);
  if (present) {
    job->display->end(id, f.title, "skipped", size);
  } else {
    auto display = job->display;
    auto title = f.title;
    auto body = counted_source(
        file_source(f.path),
        [display, id, title, size](std::uint64_t done) { display->update(id, title, done, size); },
        64 * 1024);
    auto [push_ec] = co_await job->repo.async_push(desc, std::move(body), d, use_tuple);
    check(push_ec, d);
    job->display->end(id, f.title, "pushed", size);
  }
  desc.annotations.insert_or_assign(std::string(title_annotation), f.title);
  job->layers[i] = std::move(desc);
}

awaitable<void> push_worker(std::shared_ptr<push_job> job) {
  while (job->next < job->files.size()) {
    const auto i = job->next++;  // one thread runs the workers: no race
    co_await push_layer(job, i);
  }
}

// Runs `workers` copies of `worker(job)` at once; the first failure cancels
// the others and is rethrown.
template <class Job>
awaitable<void> run_workers(std::shared_ptr<Job> job, std::size_t workers,
                            awaitable<void> (*worker)(std::shared_ptr<Job>)) {
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, worker(job), asio::deferred));
  std::vector<op_type> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(asio::co_spawn(ex, worker(job), asio::deferred));
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (auto i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
}

awaitable<void> push_op(std::shared_ptr<push_job> job, std::size_t concurrency, std::string tag,
                        std::string artifact_type, annotations notes) {
  job->display->start();
  progress_stopper stopper{job->display};
  const auto workers = std::min(concurrency, job->files.size());
  co_await run_workers(job, workers, &push_worker);

  // The empty config, unless the repository has it already.
  diagnostics d;
  const auto config = empty_json_descriptor();
  auto [exists_ec, present] = co_await job->repo.async_exists(config, d, use_tuple);
  check(exists_ec, d);
  if (!present) {
    auto config_type = std::string(media_type::oci_empty);
    auto config_bytes = std::string(empty_json);
    auto [config_ec, pushed] = co_await job->repo.async_push_bytes(
        std::move(config_type), std::move(config_bytes), d, use_tuple);
    check(config_ec, d);
  }

  image_manifest m;
  m.media_type = media_type::oci_manifest;
  m.artifact_type = std::move(artifact_type);
  m.config = config;
  m.layers = std::move(job->layers);
  m.annotations = std::move(notes);
  auto json = m.to_json();
  const auto desc = descriptor::for_content(media_type::oci_manifest, json);
  auto target = tag.empty() ? desc.digest.str() : tag;
  auto [manifest_ec] = co_await job->repo.async_push_reference(
      desc, memory_source(std::move(json)), std::move(target), d, use_tuple);
  check(manifest_ec, d);
  job->display->stop();
  std::cout << desc.digest.str() << '\n';
}

// ---- pull ----

// The path a layer title names, relative to the output directory, after
// lexical normalisation; throws `failure` when the title is not a safe one.
fs::path relative_title(const descriptor& layer, const std::string& title) {
  auto refuse = [&](const std::string& why) {
    return failure("layer " + layer.digest.str() + ": title \"" + title + "\" " + why +
                   "; refusing to write it");
  };
  if (title.empty()) throw refuse("is empty");
  if (std::any_of(title.begin(), title.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    throw refuse("holds a control character");
  const fs::path p(title);
  if (p.is_absolute() || p.has_root_path()) throw refuse("is an absolute path");
  for (const auto& part : p)
    if (part == "..") throw refuse("has a \"..\" component");
  auto normal = p.lexically_normal();
  if (normal.empty() || normal == "." || !normal.has_filename() || *normal.begin() == "..")
    throw refuse("does not name a file");
  return normal;
}

// True when `p` is `base` or below it (both absolute and normal).
bool within(const fs::path& base, const fs::path& p) {
  auto [b, q] = std::mismatch(base.begin(), base.end(), p.begin(), p.end());
  return b == base.end();
}

struct pull_item {
  descriptor layer;
  std::string title;
  fs::path path;   // where it goes (absolute, under the canonical DIR)
  fs::path shown;  // what is printed
};

// Where layer `title` goes under `base` (canonical): refuses paths that lead
// outside it through symbolic links, and symbolic links at the file or its
// `.partial` (the download opens the latter, following links).
fs::path checked_target(const fs::path& base, const descriptor& layer, const std::string& title,
                        const fs::path& relative) {
  auto refuse = [&](const std::string& why) {
    return failure("layer " + layer.digest.str() + ": title \"" + title + "\" " + why +
                   "; refusing to write it");
  };
  const auto target = base / relative;
  auto partial = target;
  partial += ".partial";
  std::error_code ec;
  const auto resolved = fs::weakly_canonical(target, ec);
  if (ec) throw failure("cannot check " + target.string() + ": " + ec.message());
  if (!within(base, resolved) || resolved == base)
    throw refuse("leads outside the output directory (to " + resolved.string() + ")");
  for (const auto& p : {target, partial}) {
    const auto st = fs::symlink_status(p, ec);
    if (fs::is_symlink(st)) throw refuse("names a symbolic link (" + p.string() + ")");
    if (fs::is_directory(st)) throw refuse("names a directory (" + p.string() + ")");
  }
  const auto resolved_partial = fs::weakly_canonical(partial, ec);
  if (ec || !within(base, resolved_partial)) throw refuse("leads outside the output directory");
  return target;
}

struct pull_job {
  remote::repository repo;
  std::vector<pull_item> items;
  std::size_t next = 0;
  std::shared_ptr<progress> display;
};

// The bytes of a download so far: the `.partial` file's allocated size (the
// ranges of a parallel download are written in place, out of order).
std::uint64_t partial_bytes(const fs::path& path, std::uint64_t total) {
  auto partial = path;
  partial += ".partial";
  struct stat st {};
  if (::stat(partial.c_str(), &st) == 0)
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
    job->display->watch(id, item.title, size, [path, size] { return partial_bytes(path, size); });
    diagnostics d;
    auto [ec] = co_await job->repo.async_fetch_to_file(item.layer, item.path, d, use_tuple);
    check(ec, d);
    job->display->end(id, item.title, "pulled", size);
  }
}

awaitable<void> pull_op(remote::repository repo, std::string ref, std::string ref_text,
                        fs::path dir, std::size_t concurrency, std::shared_ptr<progress> display) {
  diagnostics d;
  auto [ec, fetched] = co_await repo.async_fetch_reference(ref, d, use_tuple);
  check(ec, d);
  auto [read_ec, json] =
      co_await fetched.body.async_read_all(repo.options().max_metadata_bytes, use_tuple);
  check(read_ec, fetched.body.diag());
  const auto& type = fetched.desc.media_type;
  if (media_type::is_index(type))
    throw failure(ref_text + " is an index (" + type +
                  "): pull needs a manifest; give the digest of one of its manifests");
  std::vector<descriptor> layers;
  if (type == media_type::oci_artifact_manifest)
    layers = artifact_manifest::parse(json).blobs;
  else
    layers = image_manifest::parse(json).layers;

  // Every title is checked before anything is written.
  std::error_code fs_ec;
  fs::create_directories(dir, fs_ec);
  if (fs_ec) throw failure("cannot create " + dir.string() + ": " + fs_ec.message());
  const auto base = fs::canonical(dir, fs_ec);
  if (fs_ec) throw failure("cannot open " + dir.string() + ": " + fs_ec.message());
  auto job = std::make_shared<pull_job>(pull_job{repo, {}, 0, display});
  std::set<fs::path> seen;
  std::uint64_t total = 0;
  for (const auto& layer : layers) {
    auto it = layer.annotations.find(title_annotation);
    if (it == layer.annotations.end()) {
      display->note("coras: note: skipping layer " + layer.digest.str() + " (" + layer.media_type +
                    "): it has no " + std::string(title_annotation) + " annotation");
      continue;
    }
    const auto relative = relative_title(layer, it->second);
    auto target = checked_target(base, layer, it->second, relative);
    if (!seen.insert(target).second)
      throw failure("two layers are titled \"" + relative.string() + "\"; refusing to pull");
    total += static_cast<std::uint64_t>(layer.size);
    job->items.push_back(
        pull_item{layer, it->second, std::move(target), (dir / relative).lexically_normal()});
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

// ---- the commands ----

int copy(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--concurrency", "", true}, {"--platform", "", true},
                                         {"--referrers", "", false},  {"--format", "", true},
                                         {"--progress", "", false},   {"--no-progress", "", false}};
  return command("copy", copy_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 2, 2);
                   auto src = parse_location(a.positionals[0], true);
                   auto dst = parse_location(a.positionals[1], false);
                   coras::copy::copy_options o;
                   o.concurrency = concurrency_option(a, o.concurrency);
                   if (const auto* p = single(a, "--platform")) o.platform = parse_platform(*p);
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

int pull(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--output", "-o", true},
                                         {"--concurrency", "", true},
                                         {"--progress", "", false},
                                         {"--no-progress", "", false}};
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
                   auto display = progress_for(a, opts, "pulled", "file");
                   session s(opts);
                   return s.run(pull_op(s.repository(ref), ref.tag_or_digest(), a.positionals[0],
                                        dir, concurrency, display));
                 });
}

}  // namespace coras::cli

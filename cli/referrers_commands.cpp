// The OCI 1.1 referrers commands: referrers (list what refers to a manifest)
// and attach (push files as an artifact manifest whose subject is a manifest).
// As in manifest_commands.cpp, arguments are checked before any request and the
// protocol (Referrers API or the referrers tag schema) is the library's.
#include "commands.hpp"
#include "options.hpp"

#include <coras/core/descriptor.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <iostream>
#include <system_error>

namespace coras::cli {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view referrers_text =
    R"(usage: coras referrers REF [--artifact-type TYPE] [--format json]

Lists the manifests that refer to the manifest REF names (those whose
"subject" it is), one line each: DIGEST ARTIFACT_TYPE MEDIA_TYPE ("-" when a
referrer has no artifact type). Uses the registry's Referrers API, or on a
registry without it the referrers tag schema (the "sha256-<hex>" tag).

options:
  --artifact-type TYPE      only the referrers of artifact type TYPE
  --format FORMAT           "text" (the default) or "json": one line holding a
                            JSON array of the referrers' descriptors
)";

constexpr std::string_view attach_text =
    R"(usage: coras attach REF --artifact-type TYPE FILE... [--annotation KEY=VALUE]...

Pushes each FILE as a blob (application/octet-stream, titled with the file's
base name), then an image manifest of artifact type TYPE with the empty config,
those layers and the manifest REF names as its subject, by digest. Prints the
new manifest's digest. A registry without the Referrers API gets the
referrers tag schema's index ("sha256-<hex>" tag) updated too.

options:
  --artifact-type TYPE      the artifact's type, a media type (required)
  --annotation KEY=VALUE    an annotation of the manifest (repeatable)
)";

constexpr std::string_view title_annotation = "org.opencontainers.image.title";

// Checks an --artifact-type value: a media type, "type/subtype".
void check_artifact_type(const std::string& type) {
  if (type.empty()) throw usage_error{"--artifact-type is empty"};
  const auto slash = type.find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == type.size() ||
      type.find_first_of(" \t\r\n") != std::string::npos)
    throw usage_error{"--artifact-type \"" + type + "\" is not a media type (type/subtype)"};
}

// ---- the operations (named coroutines with by-value parameters) ----

awaitable<void> referrers_op(remote::repository repo, std::string ref, std::string artifact_type,
                             bool json) {
  auto subject = co_await repo.async_resolve(ref);
  bool first = true;
  auto print = [&first, json](std::span<const descriptor> page) {
    for (const auto& r : page) {
      if (json)
        std::cout << (first ? "[" : ",") << to_json(r);
      else
        // Types come from the referrers' manifests, as their pushers wrote them.
        std::cout << r.digest.str() << ' '
                  << (r.artifact_type.empty() ? "-" : one_line(r.artifact_type)) << ' '
                  << one_line(r.media_type) << '\n';
      first = false;
    }
    std::cout.flush();  // a page at a time
    return true;
  };
  co_await repo.async_referrers(subject, artifact_type, print);
  if (json) std::cout << (first ? "[]" : "]") << '\n';
}

awaitable<void> attach_op(remote::repository repo, std::string ref, std::string artifact_type,
                          std::vector<std::filesystem::path> files, annotations notes) {
  diagnostics d;
  auto resolved = co_await repo.async_resolve(ref);

  image_manifest m;
  m.media_type = media_type::oci_manifest;
  m.artifact_type = std::move(artifact_type);
  m.config = empty_json_descriptor();
  for (const auto& path : files) {
    auto layer = co_await repo.async_push_file("application/octet-stream", path);
    layer.annotations.insert_or_assign(std::string(title_annotation), path.filename().string());
    m.layers.push_back(std::move(layer));
  }
  auto config_desc =
      co_await repo.async_push_bytes(std::string(media_type::oci_empty), std::string(empty_json));
  // The subject is the manifest itself: its media type, digest and size.
  descriptor subject;
  subject.media_type = resolved.media_type;
  subject.digest = resolved.digest;
  subject.size = resolved.size;
  m.subject = std::move(subject);
  m.annotations = std::move(notes);

  // Pushed by digest; on a registry without the Referrers API the library
  // then rewrites the subject's referrers index too.
  auto json = m.to_json();
  const auto pushed = descriptor::for_content(media_type::oci_manifest, json);
  auto [manifest_ec, same_as_pushed] = co_await repo.async_push_bytes(
      std::string(media_type::oci_manifest), std::move(json), d, use_tuple);
  if (manifest_ec == errc::referrers_gc_failed) {
    // The manifest and the new index are in place; only the old index is left.
    auto text = d.message().empty() ? manifest_ec.message() : d.message();
    for (auto& c : text)
      if (c == '\n' || c == '\r') c = ' ';
    std::cerr << "coras: warning: " << text << '\n';
  } else {
    check(manifest_ec, d);
  }
  std::cout << pushed.digest.str() << '\n';
}

}  // namespace

// ---- the commands ----

int referrers(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--artifact-type", "", true}, {"--format", "", true}};
  return command("referrers", referrers_text, args, g, spec,
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
                   std::string artifact_type;
                   if (const auto* type = single(a, "--artifact-type")) {
                     check_artifact_type(*type);
                     artifact_type = *type;
                   }
                   bool json = false;
                   if (const auto* format = single(a, "--format")) {
                     if (*format == "json")
                       json = true;
                     else if (*format != "text")
                       throw usage_error{"--format \"" + *format + "\": give text or json"};
                   }
                   session s(opts);
                   return s.run(referrers_op(s.repository(ref), ref.tag_or_digest(),
                                             std::move(artifact_type), json));
                 });
}

int attach(std::span<const std::string_view> args, const global_options& g) {
  static constexpr option_spec spec[] = {{"--artifact-type", "", true}, {"--annotation", "", true}};
  return command(
      "attach", attach_text, args, g, spec, [](const parsed_args& a, const global_options& opts) {
        if (a.positionals.empty()) throw usage_error{"missing arguments"};
        auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
        const auto* type = single(a, "--artifact-type");
        if (!type) throw usage_error{"--artifact-type TYPE is required"};
        check_artifact_type(*type);
        auto notes = parse_annotations(a.get_all("--annotation"));
        if (a.positionals.size() < 2) throw usage_error{"no FILE to attach"};
        std::vector<std::filesystem::path> files(a.positionals.begin() + 1, a.positionals.end());
        for (const auto& f : files) check_regular_file(f, "attach");
        session s(opts);
        return s.run(attach_op(s.repository(ref), ref.tag_or_digest(), *type, std::move(files),
                               std::move(notes)));
      });
}

}  // namespace coras::cli

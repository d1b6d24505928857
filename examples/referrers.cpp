// Attaches an artifact (an SBOM-like JSON document) to an image by its
// `subject`, then lists the image's referrers. Works on registries with the
// Referrers API and without it (the referrers tag schema), unchanged.
//
//   example_referrers HOST:PORT/REPOSITORY:TAG [--plain-http]
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/remote/repository.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(coras::reference ref, bool plain_http) {
  // (The executor in a local first: GCC 12 frees a default argument of a call
  // that also has a co_await in it twice.)
  auto ex = co_await asio::this_coro::executor;
  coras::http::client http(ex);
  coras::remote::repository_options options;
  options.plain_http = plain_http;
  coras::remote::repository repo(http, ref, options);

  // The subject: whatever the tag names.
  auto subject = co_await repo.async_resolve(ref.tag_or_digest());

  // The artifact: its content as a blob, and an image manifest with
  // `artifactType`, the empty config, and `subject` (OCI 1.1 guidance).
  auto sbom =
      co_await repo.async_push_bytes("application/spdx+json", R"({"spdxVersion":"SPDX-2.3"})");
  co_await repo.async_push_bytes(std::string(coras::media_type::oci_empty),
                                 std::string(coras::empty_json));
  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.artifact_type = "application/spdx+json";
  m.config = coras::empty_json_descriptor();
  m.layers = {sbom};
  m.subject = subject;
  auto attached =
      co_await repo.async_push_bytes(std::string(coras::media_type::oci_manifest), m.to_json());
  std::cout << "attached " << attached.digest.str() << " to " << subject.digest.str() << '\n';

  auto referrers = co_await repo.async_list_referrers(subject, "application/spdx+json");
  for (const auto& r : referrers) std::cout << r.digest.str() << ' ' << r.artifact_type << '\n';
  const bool api = repo.referrers_capability().value_or(false);
  std::cout << (api ? "(Referrers API)" : "(referrers tag schema)") << '\n';
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_referrers HOST:PORT/REPOSITORY:TAG [--plain-http]\n";
    return 2;
  }
  std::string why;
  auto ref = coras::reference::try_parse(argv[1], &why);
  if (!ref || !ref->has_tag()) {
    std::cerr << "need a reference with a tag: " << why << '\n';
    return 2;
  }
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, run(*ref, argc > 2 && std::string(argv[2]) == "--plain-http"),
                 [&](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     std::cerr << "error: " << ex.what() << '\n';
                     status = 1;
                   }
                 });
  ioc.run();
  return status;
}

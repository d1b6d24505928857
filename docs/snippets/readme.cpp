// The code blocks of README.md, compiled (docs/architecture.md, "Code in the
// docs"): what lies between `// [snippet NAME]` and `// [end]` is, dedented,
// the block marked `<!-- snippet: readme.cpp#NAME -->` (regions of one name
// are joined in order); test/docs/check_snippets.py compares them.
// [snippet tour]
#include <coras/coras.hpp>

// [end]
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace snippets {

boost::asio::awaitable<void> tour(boost::asio::io_context& ioc, std::string json,
                                  std::string bytes, coras::descriptor layer) {
  // [snippet tour]
  auto ref = coras::reference::parse("localhost:5000/library/alpine:3.19");
  auto pinned = ref.resolve("sha256:…");          // same repository, by digest
  auto m = coras::image_manifest::parse(json);    // errors name the JSON path at fault
  auto d = coras::digest::of(bytes);              // OpenSSL EVP

  coras::http::client_options opts;
  opts.auth = coras::auth::make_authorizer(coras::auth::docker_config_credentials());
  coras::http::client http(ioc.get_executor(), opts);
  coras::remote::repository repo(http, "localhost:5000/app");
  auto desc = co_await repo.async_resolve("v1");            // HEAD, Accept: manifest types;
                                                            // throws coras::error with the registry's words
  auto content = co_await repo.async_fetch_bytes(desc);     // verified before it is returned
  co_await repo.async_fetch_to_file(layer, "layer.tar");    // the file appears only once verified
                                                            // (parallel ranges, resumes its staged file)
  auto layout = std::make_shared<coras::content::oci_layout>("/tmp/app");
  co_await coras::copy::copy(std::make_shared<coras::remote::repository_store>(repo), "v1",
                             layout, "v1", {});             // the whole image, into an OCI layout
  // [end]
  (void)pinned, (void)m, (void)d, (void)content;
}

}  // namespace snippets

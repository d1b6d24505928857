// Writes a small OCI artifact (a text file as its one layer) into an OCI
// image layout directory under a tag, then opens the layout again, resolves
// the tag and reads the file back, verified. The directory is then readable
// by `skopeo inspect oci:DIR:TAG`, umoci and oras. The layout's file work
// (writes, reads, hashing) runs on a small thread pool, so the io_context's
// thread, which an Asio server's sockets would share, never waits on a disk.
//
//   example_oci_layout DIR [TAG] [TEXT]
#include <coras/content/oci_layout.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;

// Reads a fetched source to its end; the store's source verifies the digest
// on the last read and throws instead of returning altered content.
asio::awaitable<std::string> read_all(std::shared_ptr<coras::byte_source> source) {
  std::string out;
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    std::size_t n = co_await source->read(asio::buffer(buffer));
    if (n == 0) break;
    out.append(buffer.data(), n);
  }
  co_return out;
}

asio::awaitable<void> write(std::string dir, std::string tag, std::string text,
                            asio::any_io_executor files) {
  coras::content::oci_layout_options options;
  options.work_executor = files;                    // file work off this thread
  coras::content::oci_layout layout(dir, options);  // created when missing

  // The file as a blob, the empty config, and a manifest that names both.
  auto file = coras::descriptor::for_content("text/plain", text);
  file.annotations["org.opencontainers.image.title"] = "hello.txt";
  auto file_source = coras::memory_source(text);
  co_await layout.push(file, file_source);
  auto config = coras::empty_json_descriptor();
  auto config_body = coras::memory_source(std::string(coras::empty_json));
  co_await layout.push(config, config_body);

  coras::image_manifest m;
  m.media_type = std::string(coras::media_type::oci_manifest);
  m.artifact_type = "application/vnd.example.note";
  m.config = config;
  m.layers = {file};
  auto json = m.to_json();
  auto manifest = coras::descriptor::for_content(coras::media_type::oci_manifest, json);
  auto manifest_body = coras::memory_source(json);
  co_await layout.push(manifest, manifest_body);
  co_await layout.tag(manifest, tag);
  std::cout << "wrote " << manifest.digest.str() << " as " << layout.describe() << ':' << tag
            << '\n';
}

asio::awaitable<void> read(std::string dir, std::string tag, asio::any_io_executor files) {
  coras::content::oci_layout_options options;
  options.create = false;  // reading: the layout must be there
  options.work_executor = files;
  coras::content::oci_layout layout(dir, options);
  auto root = co_await layout.resolve(tag);
  auto source = co_await layout.fetch(root);
  auto json = co_await read_all(source);
  auto m = coras::image_manifest::parse(json);
  for (const auto& layer : m.layers) {
    auto layer_source = co_await layout.fetch(layer);
    auto content = co_await read_all(layer_source);
    std::cout << layer.annotations.at("org.opencontainers.image.title") << " ("
              << layer.digest.str() << ", verified): " << content << '\n';
  }
}

asio::awaitable<void> run(std::string dir, std::string tag, std::string text,
                          asio::any_io_executor files) {
  co_await write(dir, tag, text, files);
  co_await read(dir, tag, files);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_oci_layout DIR [TAG] [TEXT]\n";
    return 2;
  }
  std::string dir = argv[1];
  std::string tag = argc > 2 ? argv[2] : "v1";
  std::string text = argc > 3 ? argv[3] : "hello from coras";
  asio::io_context ioc;
  asio::thread_pool files(2);  // where the layout reads, writes and hashes
  int status = 0;
  asio::co_spawn(ioc, run(dir, tag, text, files.get_executor()), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "example_oci_layout: " << x.what() << '\n';
      status = 1;
    }
  });
  ioc.run();
  files.join();  // the pool's threads end; its work is done (run() returned)
  return status;
}

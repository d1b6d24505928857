// The code blocks of docs/content.md, compiled (see readme.cpp).
// [snippet layout]
#include <coras/content/oci_layout.hpp>

// [end]
// [snippet work-executor]
#include <boost/asio/thread_pool.hpp>
#include <coras/content/oci_layout.hpp>

// [end]
#include <coras/core/byte_source.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>

namespace snippets {

boost::asio::awaitable<void> layout_tour(coras::descriptor desc, coras::descriptor manifest_desc,
                                         std::string bytes) {
  // [snippet layout]
  coras::content::oci_layout layout("/var/lib/app/images");   // created when missing
  auto body = coras::memory_source(bytes);
  co_await layout.push(desc, body);                 // verified, then renamed into place
  co_await layout.tag(manifest_desc, "v1");         // index.json entry named "v1"
  auto root = co_await layout.resolve("v1");
  auto source = co_await layout.fetch(root);        // its last read throws if the file was altered
  auto referrers = co_await layout.predecessors(root);
  // [end]
  (void)source, (void)referrers;
}

void work_executor() {
  // [snippet work-executor]
  boost::asio::thread_pool files(2);           // outlives the layout's operations
  coras::content::oci_layout_options options;
  options.work_executor = files.get_executor();
  coras::content::oci_layout layout("/var/lib/app/images", options);
  // push, fetch's reads, exists, resolve and tag now post each piece of file
  // work (a write of up to io_piece_bytes and its hashing, a read and its
  // hashing, a rename, index.json) to `files` and resume on their own executor.
  // [end]
}

}  // namespace snippets

// Copies an image (with every platform of an index) from a registry into an
// OCI image layout directory, printing each node as it completes.
//
//   example_copy_image REGISTRY/REPO:TAG DIR [--plain-http]
#include <coras/coras.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string_view>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " REGISTRY/REPO:TAG DIR [--plain-http]\n";
    return 2;
  }
  asio::io_context ioc;
  coras::http::client http(ioc.get_executor());
  coras::remote::repository_options ro;
  ro.plain_http = argc > 3 && std::string_view(argv[3]) == "--plain-http";
  const auto ref = coras::reference::parse(argv[1]);
  auto src =
      std::make_shared<coras::remote::repository_store>(coras::remote::repository(http, ref, ro));
  auto dst = std::make_shared<coras::content::oci_layout>(argv[2]);

  coras::copy::copy_options o;
  o.on_event = [](const coras::copy::copy_event& e) {
    using kind = coras::copy::copy_event::kind;
    if (e.what == kind::progress) return;
    const char* what = e.what == kind::skipped   ? "exists "
                       : e.what == kind::mounted ? "mounted"
                                                 : "copied ";
    std::cout << what << ' ' << e.desc.digest.str() << ' ' << e.desc.media_type << '\n';
  };
  int status = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        // Resolved once here (to print it before the copy starts); copy_graph
        // then starts from that descriptor without looking it up again.
        auto tag = ref.tag_or_digest();
        auto root = co_await src->resolve(tag);
        std::cout << "copying " << root.digest.str() << ' ' << root.media_type << '\n';
        auto r = co_await coras::copy::copy_graph(src, root, dst, o);
        co_await dst->tag(r.root, tag);
        std::cout << r.root.digest.str() << ": " << r.copied << " copied, " << r.skipped
                  << " already there, " << r.bytes << " bytes\n";
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          std::cerr << "copy failed: " << x.what() << '\n';
        }
        status = 1;
      });
  ioc.run();
  return status;
}

// Downloads a blob into a file the way a long-running service would: big
// blobs come as parallel ranges, broken connections are resumed, a run that
// was interrupted continues from the file it staged, and FILE appears only once the
// digest matched. Hashing and file writes use a small thread pool.
//
//   example_resumable_download REGISTRY/REPO@sha256:... FILE [--plain-http]
#include <coras/coras.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string_view>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " REGISTRY/REPO@DIGEST FILE [--plain-http]\n";
    return 2;
  }
  asio::io_context ioc;
  asio::thread_pool work(2);
  coras::http::client_options co;
  co.work_executor = work.get_executor();
  coras::http::client http(ioc.get_executor(), co);

  coras::remote::repository_options ro;
  ro.plain_http = argc > 3 && std::string_view(argv[3]) == "--plain-http";
  ro.transfer.parallel_downloads = 4;  // ranges in flight for big blobs
  ro.transfer.max_resumes = 10;        // per break, without progress
  const auto ref = coras::reference::parse(argv[1]);
  coras::remote::repository repo(http, ref, ro);

  int status = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto desc = co_await repo.async_resolve_blob(ref.digest().str(), asio::use_awaitable);
        coras::diagnostics d;
        auto [ec] = co_await repo.async_fetch_to_file(desc, argv[2], d,
                                                      asio::as_tuple(asio::use_awaitable));
        if (ec) {
          std::cerr << "failed: " << d.message() << " (run again to resume)\n";
          status = 1;
        } else {
          std::cout << argv[2] << ": " << desc.size << " bytes, " << desc.digest.str() << '\n';
        }
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          std::cerr << "failed: " << x.what() << '\n';
        }
        status = 1;
      });
  ioc.run();
  return status;
}

// Runs the embedded OCI registry in-process until Ctrl-C, then prints what it
// served: the counters and the last requests from its test hooks.
//
//   example_serve_registry [PORT]        (default: a free port on 127.0.0.1)
//
// Try it with: curl -i http://127.0.0.1:PORT/v2/
#include <coras/server/registry.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  coras::server::registry_options options;  // memory storage, no auth, every API on
  if (argc > 1) options.port = static_cast<std::uint16_t>(std::stoul(argv[1]));
  options.request_log_capacity = 10;

  boost::asio::io_context ioc;
  coras::server::registry registry(ioc.get_executor(), options);
  registry.start();
  std::cout << "serving " << registry.url() << " (Ctrl-C to stop)" << std::endl;

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { registry.stop(); });
  ioc.run();  // returns once stop() has closed the listener and every connection

  const auto stats = registry.stats();
  std::cout << stats.connections_accepted << " connections, " << stats.requests << " requests\n";
  for (const auto& r : registry.recent_requests())
    std::cout << "  " << r.status << ' ' << r.method << ' ' << r.target << '\n';
}

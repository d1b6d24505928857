// The options copy, push and pull share.
#include "transfer_common.hpp"

#include <coras/core/platform.hpp>

namespace coras::cli {

std::size_t concurrency_option(const parsed_args& a, std::size_t fallback) {
  const auto* n = single(a, "--concurrency");
  if (!n) return fallback;
  if (n->empty() || n->size() > 3 || n->find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(*n) == 0 || std::stoul(*n) > 256)
    throw usage_error{"--concurrency needs a number from 1 to 256"};
  return std::stoul(*n);
}

std::optional<platform> platform_option(const parsed_args& a) {
  const auto* text = single(a, "--platform");
  if (text && a.has("--all-platforms"))
    throw usage_error{"give --platform or --all-platforms, not both"};
  if (a.has("--all-platforms")) return std::nullopt;
  if (!text) return host_platform();
  std::string why;
  auto p = try_parse_platform(*text, &why);
  if (!p) throw usage_error{"--" + why};
  return *p;
}

std::shared_ptr<progress> progress_for(const parsed_args& a, const global_options& g,
                                       std::string verb, std::string noun) {
  if (a.has("--progress") && a.has("--no-progress"))
    throw usage_error{"give --progress or --no-progress, not both"};
  return std::make_shared<progress>(
      choose_progress_mode(a.has("--progress"), a.has("--no-progress"), g.verbose), std::move(verb),
      std::move(noun));
}

}  // namespace coras::cli

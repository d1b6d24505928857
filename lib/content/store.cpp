#include <coras/content/store.hpp>

namespace coras::content {

boost::asio::awaitable<std::optional<std::vector<descriptor>>> store::predecessors(descriptor) {
  co_return std::nullopt;
}

}  // namespace coras::content

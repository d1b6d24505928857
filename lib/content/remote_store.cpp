#include <coras/content/remote_store.hpp>

#include <boost/asio/use_awaitable.hpp>

namespace coras::content {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

std::string remote_store::describe() const { return repo_.ref().name(); }

awaitable<std::shared_ptr<http::body_source>> remote_store::fetch(descriptor target) {
  auto reader = co_await repo_.async_fetch(std::move(target), use_awaitable);
  co_return remote::to_body_source(std::move(reader));
}

awaitable<void> remote_store::push(descriptor expected,
                                   std::shared_ptr<http::body_source> content) {
  co_await repo_.async_push(std::move(expected), std::move(content), use_awaitable);
}

awaitable<bool> remote_store::exists(descriptor target) {
  co_return co_await repo_.async_exists(std::move(target), use_awaitable);
}

awaitable<descriptor> remote_store::resolve(std::string reference) {
  co_return co_await repo_.async_resolve(std::move(reference), use_awaitable);
}

awaitable<void> remote_store::tag(descriptor target, std::string reference) {
  co_await repo_.async_tag(std::move(target), std::move(reference), use_awaitable);
}

awaitable<std::optional<std::vector<descriptor>>> remote_store::predecessors(descriptor subject) {
  std::string any_type;
  co_return co_await repo_.async_list_referrers(std::move(subject), std::move(any_type),
                                                use_awaitable);
}

awaitable<void> remote_store::mount(descriptor desc, std::string from) {
  co_await repo_.async_mount(std::move(desc), std::move(from), nullptr, use_awaitable);
}

}  // namespace coras::content

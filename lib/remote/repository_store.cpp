#include <coras/remote/repository_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coras::remote {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Rethrows a failed operation with its full message and the registry's
// answer, which the error code alone would lose.
void check(error_code ec, const diagnostics& d) {
  if (!ec) return;
  if (const auto* r = d.registry()) throw coras::error(*r);
  throw coras::error(ec, d.message().empty() ? ec.message() : d.message());
}
}  // namespace

std::string repository_store::describe() const { return repo_.ref().name(); }
std::string repository_store::domain() const { return repo_.ref().registry(); }
std::string repository_store::name() const { return repo_.ref().repository(); }

awaitable<std::shared_ptr<byte_source>> repository_store::fetch(descriptor target) {
  diagnostics d;
  auto [ec, reader] = co_await repo_.async_fetch(std::move(target), d, use_tuple);
  check(ec, d);
  co_return to_byte_source(std::move(reader));
}

awaitable<void> repository_store::push(descriptor expected, std::shared_ptr<byte_source> content) {
  diagnostics d;
  auto [ec] = co_await repo_.async_push(std::move(expected), std::move(content), d, use_tuple);
  check(ec, d);
}

awaitable<bool> repository_store::exists(descriptor target) {
  diagnostics d;
  auto [ec, found] = co_await repo_.async_exists(std::move(target), d, use_tuple);
  check(ec, d);
  co_return found;
}

awaitable<descriptor> repository_store::resolve(std::string reference) {
  diagnostics d;
  auto [ec, desc] = co_await repo_.async_resolve(std::move(reference), d, use_tuple);
  check(ec, d);
  co_return desc;
}

awaitable<void> repository_store::tag(descriptor target, std::string reference) {
  diagnostics d;
  auto [ec] = co_await repo_.async_tag(std::move(target), std::move(reference), d, use_tuple);
  check(ec, d);
}

awaitable<std::optional<std::vector<descriptor>>> repository_store::predecessors(
    descriptor subject) {
  diagnostics d;
  std::string any_type;
  auto [ec, list] =
      co_await repo_.async_list_referrers(std::move(subject), std::move(any_type), d, use_tuple);
  check(ec, d);
  co_return list;
}

awaitable<void> repository_store::mount(descriptor desc, std::string from) {
  diagnostics d;
  auto [ec] = co_await repo_.async_mount(std::move(desc), std::move(from), nullptr, d, use_tuple);
  check(ec, d);
}

}  // namespace coras::remote

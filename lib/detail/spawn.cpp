#include "spawn.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <new>

namespace coras::detail {

boost::system::error_code to_error_code(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& ex) {
    return ex.code();
  } catch (const std::bad_alloc&) {
    return make_error_code(boost::system::errc::not_enough_memory);
  } catch (...) {
    return boost::asio::error::fault;
  }
}

}  // namespace coras::detail

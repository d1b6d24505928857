#include <coras/version.hpp>

namespace coras {

// Compiled into the library, so a program can tell which build of a shared
// libcoras it runs with (the macros say which headers it was compiled with).
const char* version() noexcept { return CORAS_VERSION_STRING; }

}  // namespace coras

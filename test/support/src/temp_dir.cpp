#include <coras_test/temp_dir.hpp>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace coras::test {

temp_dir::temp_dir(std::string_view prefix) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  path_ = std::filesystem::canonical(tmpl);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace coras::test

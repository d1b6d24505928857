// A fresh temporary directory per test, removed with its content.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace coras::test {

/// A new directory under the system's temporary directory, named
/// `<prefix>.XXXXXX` (mkdtemp, so concurrent test processes never share one)
/// and canonical (so tests may compare paths the library canonicalised).
/// The destructor removes it with everything under it and ignores errors.
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "coras-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace coras::test

// Helpers shared by the C++ test suites: paths to test data and scratch directories.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace kfold::test {

// Root of the source tree (for committed fixtures under tests/ and data/examples/).
inline std::filesystem::path source_dir() { return KFOLD_SOURCE_DIR; }

// The bytes of a file ("" when it cannot be read).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh, empty directory under the build tree, removed when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name)
      : path_(std::filesystem::path(KFOLD_BINARY_DIR) / "test-scratch" / std::string(name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / std::string(name); }

 private:
  std::filesystem::path path_;
};

}  // namespace kfold::test

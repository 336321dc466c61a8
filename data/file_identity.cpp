// file_identity (data/file_identity.hpp).
#include "data/file_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace kfold::data {

namespace fs = std::filesystem;

std::vector<std::string> file_identity(const fs::path& path) {
  std::error_code error;
  std::vector<fs::path> files;
  if (fs::is_directory(path, error)) {
    for (const auto& entry : fs::directory_iterator(path, error))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<std::string> out;
  for (const auto& file : files) {
    std::error_code size_error, time_error;
    const auto size = fs::file_size(file, size_error);
    const auto time = fs::last_write_time(file, time_error);
    out.push_back(fmt::format("{} {} {}", file.filename().string(), size_error ? 0 : size,
                              time_error ? 0 : static_cast<int64_t>(time.time_since_epoch().count())));
  }
  return out;
}

}  // namespace kfold::data

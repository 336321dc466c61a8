// folder_ignores_case, first_case_only_pair (data/case_insensitive.hpp).
#include "data/case_insensitive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>

#include "data/sequence.hpp"

namespace kfold::data {

bool folder_ignores_case(const std::filesystem::path& dir) {
  std::filesystem::path folder = dir.empty() ? std::filesystem::path(".") : dir;
  std::error_code error;
  while (!std::filesystem::is_directory(folder, error) && folder.has_parent_path() && folder != folder.parent_path())
    folder = folder.parent_path();
  std::random_device entropy;
  const std::string name = ".kfold-case-probe-" + std::to_string(::getpid()) + "-" + std::to_string(entropy());
  const std::filesystem::path probe = folder / name;
  const int fd = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return to_ascii_upper(c); });
  struct stat st {};
  const bool found = ::stat((folder / upper).c_str(), &st) == 0;
  ::unlink(probe.c_str());
  return found;
}

std::optional<std::pair<size_t, size_t>> first_case_only_pair(const std::vector<std::string>& names) {
  std::map<std::string, size_t> seen;  // name in lower case -> its first index
  for (size_t k = 0; k < names.size(); ++k) {
    std::string folded = names[k];
    std::transform(folded.begin(), folded.end(), folded.begin(), [](char c) { return to_ascii_lower(c); });
    const auto [it, fresh] = seen.emplace(std::move(folded), k);
    if (!fresh && names[it->second] != names[k]) return std::pair(it->second, k);
  }
  return std::nullopt;
}

}  // namespace kfold::data

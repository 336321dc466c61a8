// Names that differ in letter case only (P1abc, P1ABC): one file or folder on a case-insensitive file system
// (macOS's default, Windows and SMB shares, vfat), two elsewhere.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kfold::data {

// Whether files in `dir` (or, while it does not exist, in its nearest existing parent) are found under their
// names in another letter case: a probe file made there tells. False when nothing can be made there.
bool folder_ignores_case(const std::filesystem::path& dir);

// The first two of `names` that differ in ASCII letter case only (in the order given), or nullopt.
std::optional<std::pair<size_t, size_t>> first_case_only_pair(const std::vector<std::string>& names);

}  // namespace kfold::data

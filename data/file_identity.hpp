// What stands for a large input's content where reading it all on every run would cost too much
// (sequence databases, parameter folders): each file's name, size and modification time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kfold::data {

// "name size mtime" of `path`, or of every regular file in it (sorted by name) when it is a folder; a
// file that cannot be read gives size and time 0, so a change there still changes the identity.
std::vector<std::string> file_identity(const std::filesystem::path& path);

}  // namespace kfold::data

// The record of the files kfold wrote into an output folder (written_files_record.hpp).
#include "data/written_files_record.hpp"

#include <fmt/format.h>

#include <sstream>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

namespace {

// A path inside the folder: relative, every component a plain name.
bool is_inside_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find_first_of(std::string_view("\n\0", 2)) != std::string::npos)
    return false;
  for (const auto& part : fs::path(name))
    if (part.empty() || part == "." || part == "..") return false;
  return name.back() != '/';
}

}  // namespace

WrittenFilesRecord::WrittenFilesRecord(fs::path dir) : dir_(std::move(dir)) {
  std::error_code error;
  if (!fs::is_regular_file(dir_ / kFileName, error)) return;
  std::istringstream lines(data::read_text_file(dir_ / kFileName));
  for (std::string line; std::getline(lines, line);)
    if (is_inside_name(line)) names_.insert(line);
}

void WrittenFilesRecord::add(const std::set<std::string>& names) {
  const size_t before = names_.size();
  for (const auto& name : names)
    if (is_inside_name(name)) names_.insert(name);
  if (names_.size() != before) save();
}

void WrittenFilesRecord::remove_all_but(const std::set<std::string>& keep) {
  std::error_code error;
  std::set<std::string> left;
  for (const auto& name : names_) {
    const fs::path path = dir_ / name;
    if (!fs::is_regular_file(fs::symlink_status(path, error))) continue;  // gone (or not kfold's file now)
    if (keep.contains(name)) {
      left.insert(name);
      continue;
    }
    log_info("removing {} of an earlier run", path.string());
    if (!fs::remove(path, error)) left.insert(name);
  }
  names_ = std::move(left);
  save();
}

void WrittenFilesRecord::save() const {
  std::string text;
  for (const auto& name : names_) text += name + '\n';
  data::write_file_atomic(dir_ / kFileName, text);
}

}  // namespace kfold::data

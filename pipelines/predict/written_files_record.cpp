// The record of the files kfold wrote into a target folder (written_files_record.hpp).
#include "pipelines/predict/written_files_record.hpp"

#include <fmt/format.h>

#include <sstream>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "data/text_input.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

// A file name of the folder, or msas/<file name>: the only places kfold predict writes.
bool is_target_file_name(const std::string& name) {
  const std::string_view file = name.starts_with("msas/") ? std::string_view(name).substr(5) : std::string_view(name);
  return !file.empty() && file != "." && file != ".." && file.find('/') == std::string_view::npos &&
         file.find_first_of(std::string_view("\n\0", 2)) == std::string_view::npos;
}

}  // namespace

WrittenFilesRecord::WrittenFilesRecord(fs::path dir) : dir_(std::move(dir)) {
  std::error_code error;
  if (!fs::is_regular_file(dir_ / kFileName, error)) return;
  std::istringstream lines(data::read_text_file(dir_ / kFileName));
  for (std::string line; std::getline(lines, line);)
    if (is_target_file_name(line)) names_.insert(line);
}

void WrittenFilesRecord::add(const std::set<std::string>& names) {
  const size_t before = names_.size();
  for (const auto& name : names)
    if (is_target_file_name(name)) names_.insert(name);
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

}  // namespace kfold::pipelines

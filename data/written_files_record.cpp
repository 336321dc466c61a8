// The record of the files kfold wrote into an output folder (written_files_record.hpp).
#include "data/written_files_record.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

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

WrittenFilesRecord::WrittenFilesRecord(fs::path dir, std::string file_name)
    : dir_(std::move(dir)), file_name_(std::move(file_name)) {
  std::error_code error;
  if (!fs::is_regular_file(dir_ / file_name_, error)) return;
  std::istringstream lines(data::read_text_file(dir_ / file_name_));
  for (std::string line; std::getline(lines, line);)
    if (is_inside_name(line)) names_.insert(line);
}

void WrittenFilesRecord::add(const std::set<std::string>& names, bool existing_too) {
  const size_t before = names_.size();
  std::error_code error;
  for (const auto& name : names)  // an existing file not recorded is another's: recorded only once written
    if (is_inside_name(name) && (existing_too || !fs::exists(fs::symlink_status(dir_ / name, error))))
      names_.insert(name);
  if (names_.size() != before) save();
}

bool WrittenFilesRecord::is_plain_file(const std::string& name) const {
  std::error_code error;
  fs::path path = dir_;
  fs::file_status status;
  for (const auto& part : fs::path(name)) {  // no symbolic link on the way: a linked msas/ is a user's folder
    path /= part;
    status = fs::symlink_status(path, error);
    if (fs::is_symlink(status)) return false;
  }
  return fs::is_regular_file(status);
}

void WrittenFilesRecord::remove_all_but(const std::set<std::string>& keep) {
  std::error_code error;
  std::set<std::string> left;
  std::vector<std::string> removed;
  for (const auto& name : names_) {
    if (!is_plain_file(name)) continue;  // gone (or not kfold's file now)
    if (keep.contains(name)) {
      left.insert(name);
      continue;
    }
    if (fs::remove(dir_ / name, error))
      removed.push_back(name);
    else
      left.insert(name);
  }
  // A warning, not an info line (-q hid it): an earlier run's results, e.g. another model's, are gone.
  if (!removed.empty()) {
    const size_t shown = std::min<size_t>(removed.size(), 5);
    log_warn(
        "{}: removed {} file(s) an earlier run wrote and this one did not ({}{}): this run's outputs replace "
        "them; give another folder to keep an earlier run's results",
        dir_.string(), removed.size(), fmt::join(removed.begin(), removed.begin() + static_cast<long>(shown), ", "),
        removed.size() > shown ? ", ..." : "");
  }
  for (const auto& name : keep)  // what this run wrote, over another's file of that name too
    if (is_inside_name(name) && is_plain_file(name)) left.insert(name);
  names_ = std::move(left);
  save();
}

void WrittenFilesRecord::save() const {
  std::string text;
  for (const auto& name : names_) text += name + '\n';
  data::write_file_atomic(dir_ / file_name_, text);
}

}  // namespace kfold::data

// The files kfold runs wrote into one output folder, kept in DIR/.kfold_files: a rerun removes only the
// files an earlier kfold run wrote there and does not write again, so that AlphaFold's output (the same
// file names) or a user's own files in that folder are never taken for stale ones.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace kfold::data {

class WrittenFilesRecord {
 public:
  static constexpr const char* kFileName = ".kfold_files";  // kfold predict's; each command keeps its own

  // Reads the record `file_name` in `dir` (none: empty). Lines that do not name a file inside the folder (an
  // absolute path, a '.' or '..' component) are ignored: the record never names a file elsewhere.
  explicit WrittenFilesRecord(std::filesystem::path dir, std::string file_name = kFileName);

  const std::set<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return names_.contains(name); }

  // Records `names` (paths relative to the folder) before they are written, so that an interrupted run's
  // files are known to the next; a name that exists and is not recorded is another's file, left out unless
  // `existing_too` (files this run surely writes over).
  void add(const std::set<std::string>& names, bool existing_too = false);

  // Removes the recorded files not in `keep` (never through a symbolic link), then records what exists of
  // the record and of `keep`: the files this run wrote.
  void remove_all_but(const std::set<std::string>& keep);

 private:
  // `name` is a regular file reached without a symbolic link.
  bool is_plain_file(const std::string& name) const;
  void save() const;

  std::filesystem::path dir_;
  std::string file_name_;
  std::set<std::string> names_;
};

}  // namespace kfold::data

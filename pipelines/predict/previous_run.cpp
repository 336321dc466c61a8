// PreviousRun (pipelines/predict/previous_run.hpp).
#include "pipelines/predict/previous_run.hpp"

#include <algorithm>
#include <system_error>

#include "data/log.hpp"
#include "data/written_files_record.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSnapshot = ".previous-run";

// The names (relative to `root`) of the regular files under `root`.
std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error))
    if (it->is_regular_file(error)) names.push_back(fs::relative(it->path(), root, error).generic_string());
  return names;
}

}  // namespace

PreviousRun::PreviousRun(fs::path target_dir, const std::set<std::string>& outputs)
    : dir_(std::move(target_dir)), snapshot_(dir_ / kSnapshot) {
  std::error_code error;
  if (fs::is_directory(snapshot_, error)) {  // a run killed before it completed: its folder is mixed
    log_warn("{}: an earlier run of this target was interrupted; its folder is put back as the run before it left it",
             dir_.string());
    names_ = files_under(snapshot_);
    put_done_last();
    active_ = true;
    restore();
  }
  if (!fs::is_regular_file(dir_ / "done", error)) return;  // nothing complete to keep
  std::set<std::string> names = outputs;
  names.insert({"done", "run.json", data::WrittenFilesRecord::kFileName});
  fs::create_directory(snapshot_, error);
  for (const auto& name : names) {
    const fs::path from = dir_ / name;
    if (!fs::is_regular_file(fs::symlink_status(from, error))) continue;  // (never through a link)
    fs::create_directories((snapshot_ / name).parent_path(), error);
    fs::create_hard_link(from, snapshot_ / name, error);
    if (error) {
      log_warn(
          "{}: the earlier run's files cannot be kept while this one runs ({}: {}); a failure of this run leaves "
          "its folder incomplete",
          dir_.string(), name, error.message());
      fs::remove_all(snapshot_, error);
      names_.clear();
      return;
    }
    names_.push_back(name);
  }
  put_done_last();
  active_ = true;
}

// `done` goes back last: a kill while the files go back must not leave it beside a mixed folder.
void PreviousRun::put_done_last() {
  std::stable_partition(names_.begin(), names_.end(), [](const std::string& name) { return name != "done"; });
}

PreviousRun::~PreviousRun() {
  if (!active_) return;
  try {
    log_warn("{}: this run did not complete; the earlier run's files are put back", dir_.string());
    restore();
  } catch (const std::exception& e) {
    log_warn("{}: the earlier run's files could not all be put back: {} (they are in {})", dir_.string(), e.what(),
             snapshot_.string());
  }
}

void PreviousRun::discard() {
  std::error_code error;
  fs::remove_all(snapshot_, error);
  names_.clear();
  active_ = false;
}

void PreviousRun::restore() {
  std::error_code error;
  // This run's files the earlier run did not have go (those its record names: a user's file stays).
  const std::set<std::string> kept(names_.begin(), names_.end());
  const data::WrittenFilesRecord record(dir_);
  for (const auto& name : record.names())
    if (!kept.contains(name) && fs::is_regular_file(fs::symlink_status(dir_ / name, error)))
      fs::remove(dir_ / name, error);
  if (!kept.contains("done")) fs::remove(dir_ / "done", error);
  for (const auto& name : names_) {
    fs::rename(snapshot_ / name, dir_ / name, error);
    if (error) throw fs::filesystem_error("cannot put back " + name, snapshot_ / name, dir_ / name, error);
  }
  fs::remove_all(snapshot_, error);
  names_.clear();
  active_ = false;
}

}  // namespace kfold::pipelines

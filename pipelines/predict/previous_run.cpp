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
  // Made under another name and renamed when whole: a run killed while making it left the folder untouched (and a
  // part of a snapshot put back would remove the earlier files it had not linked yet).
  const fs::path partial = dir_ / (std::string(kSnapshot) + ".partial");
  fs::remove_all(partial, error);
  if (!fs::is_regular_file(dir_ / "done", error)) return;  // nothing complete to keep
  std::set<std::string> names = outputs;
  names.insert({"done", "run.json", data::WrittenFilesRecord::kFileName});
  const auto give_up = [&](const std::string& what) {
    log_warn(
        "{}: the earlier run's files cannot be kept while this one runs ({}: {}); a failure of this run leaves "
        "its folder incomplete",
        dir_.string(), what, error.message());
    fs::remove_all(partial, error);
    names_.clear();
  };
  fs::create_directory(partial, error);
  for (const auto& name : names) {
    const fs::path from = dir_ / name;
    if (!fs::is_regular_file(fs::symlink_status(from, error))) continue;  // (never through a link)
    fs::create_directories((partial / name).parent_path(), error);
    fs::create_hard_link(from, partial / name, error);
    if (error) {
      give_up(name);
      return;
    }
    names_.push_back(name);
  }
  fs::rename(partial, snapshot_, error);
  if (error) {
    give_up(snapshot_.string());
    return;
  }
  put_done_last();
  active_ = true;
}

// The record of files goes back last but `done`, and `done` last: a kill while the files go back leaves the snapshot
// of what was not back yet, and the next run must still tell this run's files from the earlier run's (by the record
// in the snapshot) and must not find `done` beside a mixed folder.
void PreviousRun::put_done_last() {
  const auto rank = [](const std::string& name) {
    return name == "done" ? 2 : name == data::WrittenFilesRecord::kFileName ? 1 : 0;
  };
  std::stable_sort(names_.begin(), names_.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
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
  // This run's files that the earlier run's record does not name go (a user's file, in neither record, stays); once
  // that record is back (a restore interrupted after it), there is nothing to tell them by and nothing goes.
  if (fs::is_regular_file(snapshot_ / data::WrittenFilesRecord::kFileName, error)) {
    const data::WrittenFilesRecord earlier(snapshot_), now(dir_);
    for (const auto& name : now.names())
      if (!earlier.contains(name) && fs::is_regular_file(fs::symlink_status(dir_ / name, error)))
        fs::remove(dir_ / name, error);
  }
  for (const auto& name : names_) {
    fs::rename(snapshot_ / name, dir_ / name, error);
    if (error) throw fs::filesystem_error("cannot put back " + name, snapshot_ / name, dir_ / name, error);
  }
  fs::remove_all(snapshot_, error);
  names_.clear();
  active_ = false;
}

}  // namespace kfold::pipelines

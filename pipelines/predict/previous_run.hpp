// A rerun of `kfold predict` (or of a batch's predict stage) into a folder holding a complete earlier run keeps that
// run until this one completes. Its files are hard-linked into DIR/<id>/.previous-run/ before anything is written
// (every output is written under a temp name and renamed over the old, so the links keep the earlier contents),
// put back over this run's files when this run fails, and removed when it completes. A run killed in between leaves
// the snapshot: the next run puts it back first. (A failed rerun left the folder mixed: features.h5 of the new
// inputs beside the old structures, `done` and run.json gone.)
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace kfold::pipelines {

class PreviousRun {
 public:
  // Puts back a snapshot an interrupted run left in `target_dir`; then, when `target_dir` holds a complete run (its
  // `done`), links `outputs` (names relative to it, those that exist), run.json, done and kfold predict's record of
  // its files into the snapshot. A file system without hard links: no snapshot, with a warning.
  PreviousRun(std::filesystem::path target_dir, const std::set<std::string>& outputs);
  // Puts the snapshot back unless discard() was called (an exception is leaving the run); never throws.
  ~PreviousRun();
  PreviousRun(const PreviousRun&) = delete;
  PreviousRun& operator=(const PreviousRun&) = delete;

  // This run completed: the earlier files go.
  void discard();

 private:
  void restore();
  void put_done_last();

  std::filesystem::path dir_;
  std::filesystem::path snapshot_;
  std::vector<std::string> names_;  // in the snapshot
  bool active_ = false;
};

}  // namespace kfold::pipelines

// Atomic output files: write to a temporary name beside the target, then rename, so a
// crash or an error never leaves a partial file under the final name.
#pragma once

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kfold::data {

class AtomicOutput {
 public:
  // Throws InputError when the target names no file ("" or "dir/"), its name is longer than the file system
  // allows (255 bytes), its directory does not exist or is not writable, or the target is an existing
  // directory. Creates nothing: also a check before work.
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();  // removes the temporary file unless commit() succeeded
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }

  // fsyncs the temporary file (a full disk or quota can surface only here). Throws RuntimeError.
  void sync();
  // sync() unless done, then renames the temporary file onto the target. Throws RuntimeError.
  void commit();
  // The temporary file is kept, not removed by the destructor (it holds data that has no other name).
  void keep_temp() { committed_ = true; }

  // Writers create the temporary file exclusively (O_EXCL, which never follows a link, or HDF5's
  // H5F_ACC_EXCL); when that failed, true if something already had the name (a file or link another user
  // planted in a shared folder, a killed run's file) and temp_path() is now another, untried one; false
  // otherwise, or after kMostTempNames names.
  bool temp_name_taken();
  // The writer's exclusive create failed: what has the temporary name (if anything) is not this object's, and
  // the destructor leaves it (names repeat across hosts and containers: it may be another's file in progress).
  void temp_not_made() { owns_temp_ = false; }

 private:
  static constexpr int kMostTempNames = 100;
  void next_temp_name();

  std::filesystem::path target_;
  std::string temp_prefix_;  // the target's name, cut to leave room for ".tmp.<pid>.<n>"
  int names_tried_ = 0;
  bool owns_temp_ = true;  // false after temp_not_made()
  std::filesystem::path temp_;
  bool synced_ = false;
  bool committed_ = false;
};

// Writes `content` to `path` atomically. Throws InputError (bad directory) or
// RuntimeError (write failure, e.g. disk full).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// write_file_atomic in two steps: the temporary file is written and synced now (a full disk or no inode left fails
// here, before anything else changes), and renamed onto `path` by the returned object's commit() (removed when
// that never comes): a completion marker prepared before the files it vouches for, committed after them.
std::unique_ptr<AtomicOutput> prepare_file_atomic(const std::filesystem::path& path, std::string_view content);

// Writes several files all or nothing: every content goes to its temporary file and is synced first, and
// only then are they renamed into place, in order (a full disk leaves none of them changed); the files
// they replace are kept (hard links) until the last rename, and put back when one fails.
void write_files_atomic(const std::vector<std::pair<std::filesystem::path, std::string>>& files);

// fsyncs a finished file (a full disk or quota can surface only here; file systems that cannot sync
// pass). Throws RuntimeError naming it.
void sync_file(const std::filesystem::path& path);

// Creates the missing folders of `dir` one level at a time, in the order the system resolves the path ('..'
// after a missing folder needs that folder: `-o new/../out` makes `new` too), and returns those this call
// created (another run's, made meanwhile, are not in it), outermost first: a run that fails removes them again
// (fs::remove: while empty). Stops at the first folder it cannot make (a file, a dangling symbolic link:
// ensure_directory names the problem).
std::vector<std::filesystem::path> make_missing_directories(const std::filesystem::path& dir);

// Creates `dir` (and parents) if needed; throws InputError naming it when that fails or when it exists
// and is not writable (an output folder found unusable before the work, not after).
void ensure_directory(const std::filesystem::path& dir);

// Throws InputError when `output` is the file `input` (the same path, or a link to it): writing it would
// destroy the input. `flag` names the output option in the message ("-o").
void check_output_is_not_input(const std::filesystem::path& output, const std::filesystem::path& input,
                               std::string_view flag);

// Whether an errno says the storage failed (full: ENOSPC; over quota: EDQUOT; I/O: EIO; a file system mounted
// read-only, as one is after errors: EROFS), not the path given: a RuntimeError (exit 1), where other failures to
// create a file or folder are the input's (exit 2).
inline bool is_storage_failure(int err) { return err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS; }

// Removes the temporary files (AtomicOutput's ".<name>.tmp.<pid>.<n>") that a killed process left under
// `dir`, subfolders included. Only for a folder that no other process writes to now (one whose lock is held).
void remove_temp_files(const std::filesystem::path& dir);

// The temporary files of the outputs `names` directly in `dir` whose writer (the pid in their name) no longer
// runs on this host, and that were last written more than `age` ago (by file_system_now): what a killed run of a
// command left. A pid is looked up in this host's namespace only: without a lock that keeps other hosts and
// containers out (kfold search holds one: age 0), `age` keeps their live writers' files (kfold features: 10 min).
void remove_dead_temp_files(const std::filesystem::path& dir, const std::vector<std::string>& names,
                            std::chrono::seconds age);

// The same for a folder others may be writing to now: only the temporary files directly in `dir` that were
// last written more than `age` ago (a live writer finishes a small file in well under that), by file_system_now.
void remove_old_temp_files(const std::filesystem::path& dir, std::chrono::seconds age);

// Now by the clock that stamps the files of `dir`: the file system's (on NFS the server's, which cluster nodes'
// own clocks may be off from), read as the folder's mtime after touching it; this host's clock where the folder
// cannot be touched. Ages of other processes' files are measured against it.
std::filesystem::file_time_type file_system_now(const std::filesystem::path& dir);

}  // namespace kfold::data

// Atomic output files: write to a temporary name beside the target, then rename, so a
// crash or an error never leaves a partial file under the final name.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kfold::data {

class AtomicOutput {
 public:
  // Throws InputError when the target names no file ("" or "dir/"), its directory does not exist or is
  // not writable, or the target is an existing directory. Creates nothing: also a check before work.
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();  // removes the temporary file unless commit() succeeded
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }

  // fsyncs the temporary file and renames it onto the target. Throws RuntimeError.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Writes `content` to `path` atomically. Throws InputError (bad directory) or
// RuntimeError (write failure, e.g. disk full).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Writes several files all or nothing: every content goes to its temporary file first, and only when
// all are written are they renamed into place (a full disk leaves none of them changed).
void write_files_atomic(const std::vector<std::pair<std::filesystem::path, std::string>>& files);

// Creates `dir` (and parents) if needed; throws InputError naming it when that fails.
void ensure_directory(const std::filesystem::path& dir);

}  // namespace kfold::data

// Building a database folder (`kfold db create`, `kfold db index`) under a temporary name: a guard that
// removes it unless the build finished, a binary file writer that syncs, and the clean-up of the
// temporary folders a killed build left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

namespace kfold::msa {

// In a temporary folder only: who is building it (data/process_owner.hpp), written first.
inline constexpr const char* kBuildOwnerFile = "owner";

// Removes a kfold-made folder with its owner file last: a removal cut short leaves a folder the next run still
// tells abandoned (std::filesystem::remove_all went in directory order, the owner file often first, and the rest
// was then left alone as a user's folder).
void remove_owned_folder(const std::filesystem::path& dir, std::error_code& ec);

// Removes a half-built folder unless released (remove_owned_folder).
class DirectoryGuard {
 public:
  explicit DirectoryGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~DirectoryGuard();
  DirectoryGuard(const DirectoryGuard&) = delete;
  DirectoryGuard& operator=(const DirectoryGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

// A new binary file; close() flushes and fsyncs it (on disk before its folder is renamed into place).
// Throws RuntimeError naming the file when it cannot be created or written (disk full).
class BinaryWriter {
 public:
  explicit BinaryWriter(const std::filesystem::path& path);
  void write(const void* data, size_t bytes) {
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  }
  void write_i64(int64_t value) { write(&value, sizeof value); }
  void close();

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Removes the owner file of a finished folder (a database, its index) that a run killed between the folder's rename
// into place and the owner file's removal left, when its process is gone.
void remove_stale_owner_file(const std::filesystem::path& dir);

// The temporary folders of `folder` ("<folder><marker>.<pid>") that a killed `command` left are removed. Only a
// folder holding kfold's owner file (kBuildOwnerFile, written just after the folder and kept until it is renamed
// into place) counts as one: a folder of that name without it is the user's ("uniref.tmp.2024") and is left alone.
// One whose builder still runs stops this run (InputError) rather than race it for the name: its owner file says
// who; a builder on another host (or in another container) is taken as alive while its files change. A folder of
// that name holding nothing but a temporary file of the owner file (or nothing) for over a minute is removed too: a
// run killed as it made the folder or as it removed it left it so (a live one does for an instant only).
void remove_abandoned_temp_dirs(const std::filesystem::path& folder, std::string_view command,
                                std::string_view marker = ".tmp");

}  // namespace kfold::msa

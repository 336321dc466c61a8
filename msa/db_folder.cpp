// DirectoryGuard, BinaryWriter, remove_owned_folder and remove_abandoned_temp_dirs (msa/db_folder.hpp).
#include "msa/db_folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/process_owner.hpp"

namespace kfold::msa {
namespace fs = std::filesystem;

namespace {

// A temporary folder whose builder cannot be looked up (another host) and that has not changed for this
// long is abandoned; a live builder writes every few seconds.
constexpr int kAbandonedAfterSeconds = 900;

// A folder of that name with no owner file that a live run leaves so for an instant only: one made by a run killed
// before its owner file was renamed into place, or emptied by one killed before its rmdir.
constexpr int kHalfMadeAfterSeconds = 60;

// Whether `dir` holds nothing but temporary files of the owner file (none: empty).
bool holds_no_more_than_an_owner_file_in_the_making(const fs::path& dir) {
  const std::string owner_temp = "." + std::string(kBuildOwnerFile) + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (!entry.path().filename().string().starts_with(owner_temp) || !entry.is_regular_file(ec)) return false;
  return !ec;
}

// Seconds from the newest write to `dir` or a file directly inside it to `now`.
double seconds_since_last_write(const fs::path& dir, fs::file_time_type now) {
  std::error_code ec;
  auto newest = fs::last_write_time(dir, ec);
  for (const auto& entry : fs::directory_iterator(dir, ec)) newest = std::max(newest, entry.last_write_time(ec));
  return std::chrono::duration<double>(now - newest).count();
}

}  // namespace

void remove_owned_folder(const fs::path& dir, std::error_code& ec) {
  ec.clear();
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != kBuildOwnerFile) entries.push_back(entry.path());
  if (ec) return;
  for (const auto& path : entries) {  // each its own error code: a later success must not hide an earlier failure
    std::error_code error;
    fs::remove_all(path, error);
    if (error && !ec) ec = error;
  }
  if (ec) return;  // the owner file stays: the next run knows the folder is kfold's and tries again
  fs::remove(dir / kBuildOwnerFile, ec);
  if (!ec) fs::remove(dir, ec);
}

void remove_stale_owner_file(const fs::path& dir) {
  data::ProcessOwner owner;
  if (data::read_process_owner(dir / kBuildOwnerFile, owner) && data::process_is_running(owner) == false) {
    std::error_code ec;  // (a database others own: theirs to tidy)
    fs::remove(dir / kBuildOwnerFile, ec);
  }
}

DirectoryGuard::~DirectoryGuard() {
  if (!path_.empty()) {
    std::error_code ec;
    remove_owned_folder(path_, ec);
  }
}

BinaryWriter::BinaryWriter(const fs::path& path) : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
  if (!out_) fail_runtime("{}: cannot create ({})", path.string(), std::strerror(errno));
}

void BinaryWriter::close() {
  errno = 0;
  out_.flush();
  out_.close();
  if (!out_)
    fail_runtime("{}: write failed: {}", path_.string(),
                 errno != 0 ? std::strerror(errno) : "disk full or over a file-size limit (ulimit -f)?");
  data::sync_file(path_);  // on disk before the folder is renamed into place (a node crash left it truncated)
}

void remove_abandoned_temp_dirs(const fs::path& folder, std::string_view command, std::string_view marker) {
  const fs::path parent = folder.has_parent_path() ? folder.parent_path() : fs::path(".");
  const std::string prefix = folder.filename().string() + std::string(marker);
  std::error_code ec;
  std::vector<fs::path> abandoned, half_made;
  // "Now" by the clock that stamps the folders (on NFS the server's): a node whose clock ran 15 minutes
  // ahead took another host's live build for abandoned and removed it. Read once, when a folder is found.
  std::optional<fs::file_time_type> now;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !entry.is_directory(ec)) continue;
    const std::string suffix = name.substr(prefix.size());
    if (suffix.size() < 2 || suffix[0] != '.' ||
        !std::all_of(suffix.begin() + 1, suffix.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;  // another name that starts alike ("db.tmp.old", "db.tmpfiles"), or a user's own "kmer_index.old"
    if (holds_no_more_than_an_owner_file_in_the_making(entry.path())) {
      if (!now) now = data::file_system_now(parent);
      if (seconds_since_last_write(entry.path(), *now) > kHalfMadeAfterSeconds) half_made.push_back(entry.path());
      continue;
    }
    data::ProcessOwner owner;
    if (!data::read_process_owner(entry.path() / kBuildOwnerFile, owner)) {
      // Not kfold's: a user's folder of that name ("uniref.tmp.2024"), never removed.
      log_info("{}: left alone: no kfold owner file in it, so no '{}' made it", entry.path().string(), command);
      continue;
    }
    if (!now) now = data::file_system_now(parent);
    const double idle = seconds_since_last_write(entry.path(), *now);
    if (data::process_is_running(owner).value_or(idle < kAbandonedAfterSeconds)) {
      fail_input(
          "{}: another '{}' (pid {} on {}) is creating it now in {} (last write {:.0f} s ago; a folder unchanged for "
          "{} s counts as abandoned); wait for it{}",
          folder.string(), command, owner.pid, owner.host, entry.path().string(), idle, kAbandonedAfterSeconds,
          marker == ".tmp" && command == "kfold db create" ? ", or choose another name" : "");
    }
    abandoned.push_back(entry.path());
  }
  for (const auto& dir : half_made) {
    std::vector<fs::path> temporary;
    for (const auto& entry : fs::directory_iterator(dir, ec)) temporary.push_back(entry.path());
    for (const auto& path : temporary) fs::remove(path, ec);
    if (fs::remove(dir, ec)) log_info("removed {}, which an interrupted '{}' left half made", dir.string(), command);
  }
  for (const auto& dir : abandoned) {
    remove_owned_folder(dir, ec);
    if (ec)
      log_warn("cannot remove {}, left by an interrupted '{}': {}", dir.string(), command, ec.message());
    else
      log_warn("removed {}, left by an interrupted '{}'", dir.string(), command);
  }
}

}  // namespace kfold::msa

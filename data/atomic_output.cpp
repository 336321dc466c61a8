// AtomicOutput: temp file in the target's directory (same file system), fsync, rename.
#include "data/atomic_output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "data/error.hpp"
#include "data/log.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

namespace {

// The longest file name (NAME_MAX of Linux's file systems).
constexpr size_t kNameMax = 255;

bool is_temp_file_name(const std::string& name) {
  return !name.empty() && name.front() == '.' && name.find(".tmp.") != std::string::npos;
}

// The temporary name keeps within kNameMax too: a long name is cut (at a UTF-8 character boundary).
std::string temp_prefix(const std::string& name) {
  size_t keep = std::min<size_t>(name.size(), kNameMax - 40);
  while (keep > 0 && keep < name.size() && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
  return name.substr(0, keep);
}

// A folder `access(W_OK)` refused, for the output `target` in it (none: the folder is the output). On a read-only
// file system (EROFS: one remounted read-only after errors, a snapshot) the storage failed: a RuntimeError (exit 1;
// kfold batch retries the target); otherwise the folder's permissions are the user's to fix (InputError).
[[noreturn]] void fail_not_writable(const fs::path& dir, const fs::path& target = {}) {
  const int err = errno;  // (access's)
  const std::string where =
      target.empty() ? dir.string() + ": the output directory" : target.string() + ": output directory " + dir.string();
  if (err == EROFS)
    fail_runtime("{} is on a read-only file system; remount it read-write or choose another folder", where);
  fail_input("{} is not writable; fix its permissions or choose another", where);
}

fs::path directory_of(const fs::path& target) {
  const fs::path parent = target.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// 0, or the errno of a failed open or fsync (a full disk can surface only here); file systems
// that cannot sync (EINVAL) count as success.
int fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  ::close(fd);
  return err;
}

// strerror, plus what to do when the error means that there is no room for the file.
std::string write_error_text(int err) {
  const bool no_room = err == ENOSPC || err == EFBIG || err == EDQUOT;
  return fmt::format("{}{}", std::strerror(err), no_room ? " (disk full or file size limit)" : "");
}

}  // namespace

std::vector<fs::path> make_missing_directories(const fs::path& dir) {
  std::vector<fs::path> made;
  std::error_code error;
  fs::path p;
  for (const auto& part : fs::absolute(dir, error)) {
    p /= part;
    if (part.empty() || part == "." || part == ".." || p == p.root_path()) continue;
    if (fs::exists(fs::symlink_status(p, error))) continue;
    if (!fs::create_directory(p, error)) break;  // exists now (another run's), or cannot: not ours
    made.push_back(p);
  }
  return made;
}

void ensure_directory(const fs::path& dir) {
  if (dir.empty()) fail_input("the output directory is an empty name; give a folder, e.g. -o out");
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    if (::access(dir.c_str(), W_OK) != 0) fail_not_writable(dir);
    return;
  }
  if (fs::exists(dir, ec)) fail_input("{}: exists and is not a directory", dir.string());
  if (fs::is_symlink(fs::symlink_status(dir, ec)))
    fail_input("{}: is a symbolic link to {}, which does not exist; create that folder or give another one",
               dir.string(), fs::read_symlink(dir, ec).string());
  // Made one level at a time, remembering which this call made: when a later name fails (one too long for the
  // file system) those are removed again, as an output never made, and nothing that existed before is (a
  // "new/../kept/..." path passes kept/ again; another process may make a level meanwhile: EEXIST, not ours).
  std::vector<fs::path> made;
  fs::path level;
  int err = 0;
  for (const auto& part : dir) {
    level /= part;
    if (part == "." || part == ".." || part == level.root_path()) continue;
    if (::mkdir(level.c_str(), 0777) == 0) {
      made.push_back(level);
    } else if (errno != EEXIST || !fs::is_directory(level, ec)) {
      err = errno == EEXIST ? ENOTDIR : errno;
      break;
    }
  }
  if (err != 0) {
    for (auto it = made.rbegin(); it != made.rend(); ++it)
      ::rmdir(it->c_str());  // an empty folder only (never a file): one another process has since filled stays
    if (is_storage_failure(err))
      fail_runtime("{}: cannot create output directory: {}", dir.string(), std::strerror(err));
    fail_input("{}: cannot create output directory: {}", dir.string(), std::strerror(err));
  }
}

void check_output_is_not_input(const fs::path& output, const fs::path& input, std::string_view flag) {
  std::error_code ec;
  if (fs::equivalent(output, input, ec))
    fail_input("{} {}: is the input {}; writing it would destroy that input. Write to another file", flag,
               output.string(), input.string());
}

void remove_temp_files(const fs::path& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return;
  std::vector<fs::path> stale;
  // Stepped with error codes: a subfolder this user may not read (or no file descriptor left) is skipped, not a
  // filesystem_error that named no file and stopped a whole batch.
  auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error))
    if (is_temp_file_name(it->path().filename().string())) stale.push_back(it->path());
  for (const auto& path : stale) fs::remove(path, error);
}

void remove_dead_temp_files(const fs::path& dir, const std::vector<std::string>& names, std::chrono::seconds age) {
  std::error_code error;
  std::vector<fs::path> stale;
  const auto now = age.count() > 0 ? file_system_now(dir) : fs::file_time_type{};
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string file = entry.path().filename().string();
    if (!is_temp_file_name(file)) continue;
    for (const std::string& name : names) {
      const std::string prefix = "." + temp_prefix(name) + ".tmp.";
      if (!file.starts_with(prefix)) continue;
      const std::string rest = file.substr(prefix.size());  // "<pid>.<n>"
      const auto dot = rest.find('.');
      char* end = nullptr;
      const long pid = std::strtol(rest.c_str(), &end, 10);
      if (dot == std::string::npos || end != rest.c_str() + dot || pid <= 0) continue;
      if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or another user's)
      if (age.count() > 0) {
        const auto written = entry.last_write_time(error);
        if (error || std::chrono::duration_cast<std::chrono::seconds>(now - written) <= age) continue;
      }
      stale.push_back(entry.path());
    }
  }
  for (const auto& path : stale) fs::remove(path, error);
}

fs::file_time_type file_system_now(const fs::path& dir) {
  std::error_code error;
  if (::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0) == 0)
    if (const auto now = fs::last_write_time(dir, error); !error) return now;
  return fs::file_time_type::clock::now();
}

void remove_old_temp_files(const fs::path& dir, std::chrono::seconds age) {
  std::error_code error;
  const auto now = file_system_now(dir);
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!is_temp_file_name(entry.path().filename().string())) continue;
    if (entry.is_symlink(error)) {  // never one of kfold's (a planted link: its target's age is no measure)
      stale.push_back(entry.path());
      continue;
    }
    const auto written = entry.last_write_time(error);
    // In seconds: `age` in the file clock's nanoseconds overflowed from 2^63 ns (292 years: --lock-timeout
    // 9999999999), which made every temp file old.
    if (!error && std::chrono::duration_cast<std::chrono::seconds>(now - written) > age) stale.push_back(entry.path());
  }
  for (const auto& path : stale) fs::remove(path, error);
}

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)) {
  if (!target_.has_filename())
    fail_input("output path '{}' names no file; give a file name (a path that does not end in '/')", target_.string());
  const fs::path dir = directory_of(target_);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    fail_input("{}: {} is a file, not a directory", target_.string(), dir.string());
  if (!fs::is_directory(dir, ec)) fail_input("{}: output directory {} does not exist", target_.string(), dir.string());
  if (::access(dir.c_str(), W_OK) != 0) fail_not_writable(dir, target_);
  if (fs::is_directory(target_, ec)) fail_input("{}: is a directory, expected a file name", target_.string());
  const std::string name = target_.filename().string();
  if (name.size() > kNameMax)
    fail_input("{}: the file name is {} bytes long, file systems allow {}; choose a shorter name", target_.string(),
               name.size(), kNameMax);
  temp_prefix_ = temp_prefix(name);
  next_temp_name();
}

void AtomicOutput::next_temp_name() {
  static std::atomic<unsigned> counter{0};
  temp_ = directory_of(target_) / fmt::format(".{}.tmp.{}.{}", temp_prefix_, ::getpid(), counter++);
}

bool AtomicOutput::temp_name_taken() {
  // lstat: a link someone planted under the name counts, wherever it points.
  struct stat info {};
  if (::lstat(temp_.c_str(), &info) != 0) return false;
  if (++names_tried_ >= kMostTempNames) {
    temp_not_made();
    return false;
  }
  next_temp_name();
  return true;
}

AtomicOutput::~AtomicOutput() {
  if (!committed_ && owns_temp_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void sync_file(const fs::path& path) {
  if (const int err = fsync_path(path, false); err != 0)
    fail_runtime("{}: write failed: {}", path.string(), write_error_text(err));
}

void AtomicOutput::sync() {
  if (synced_) return;
  if (const int err = fsync_path(temp_, false); err != 0)
    fail_runtime("{}: write failed: {}", target_.string(), write_error_text(err));
  synced_ = true;
}

void AtomicOutput::commit() {
  sync();
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) fail_runtime("{}: cannot move finished file into place: {}", target_.string(), ec.message());
  committed_ = true;
  // Best effort, its result not checked: the file's data is synced above; a folder that cannot be opened or
  // synced (no read permission, some network file systems) leaves the rename's durability to the file system,
  // and failing here would report an error for a file that is in place.
  fsync_path(directory_of(target_), true);
}

namespace {

void write_temp(AtomicOutput& out, const fs::path& path, std::string_view content) {
  int fd;
  do {  // O_EXCL: a file or link already under the name (another user's, in a shared folder) is never opened
    fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);  // umask decides
  } while (fd < 0 && errno == EEXIST && out.temp_name_taken());
  if (fd < 0) {
    const int error = errno;
    out.temp_not_made();  // (O_EXCL made nothing: what has the name is someone else's)
    fail_runtime("{}: cannot create {}: {}", path.string(), out.temp_path().string(), write_error_text(error));
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail_runtime("{}: write failed: {}", path.string(), write_error_text(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) fail_runtime("{}: write failed: {}", path.string(), write_error_text(errno));
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view content) {
  AtomicOutput out(path);
  write_temp(out, path, content);
  out.commit();
}

std::unique_ptr<AtomicOutput> prepare_file_atomic(const fs::path& path, std::string_view content) {
  auto out = std::make_unique<AtomicOutput>(path);
  write_temp(*out, path, content);
  out->sync();
  return out;
}

void write_files_atomic(const std::vector<std::pair<fs::path, std::string>>& files) {
  std::vector<std::unique_ptr<AtomicOutput>> outputs;
  for (const auto& [path, content] : files) {
    outputs.push_back(std::make_unique<AtomicOutput>(path));
    write_temp(*outputs.back(), path, content);
  }
  for (auto& out : outputs) out->sync();
  // Each file replaced stays reachable under a temporary name (a hard link, else a copy) until every rename
  // succeeded: a rename failing halfway puts them back.
  std::vector<std::pair<const AtomicOutput*, std::unique_ptr<AtomicOutput>>> renamed;  // (output, its earlier file)
  try {
    for (auto& out : outputs) {
      std::unique_ptr<AtomicOutput> earlier;
      std::error_code ec;
      if (fs::is_regular_file(out->target(), ec)) {
        earlier = std::make_unique<AtomicOutput>(out->target());
        do {  // (both fail on a name something has, and never write through a link there: another name then)
          ec.clear();
          fs::create_hard_link(out->target(), earlier->temp_path(), ec);
          if (ec && ec != std::errc::file_exists) fs::copy_file(out->target(), earlier->temp_path(), ec);
        } while (ec == std::errc::file_exists && earlier->temp_name_taken());
        if (ec == std::errc::file_exists) earlier->temp_not_made();
        if (ec)
          fail_runtime("{}: cannot keep the file it replaces until all are written: {}", out->target().string(),
                       ec.message());
      }
      renamed.emplace_back(out.get(), std::move(earlier));
      out->commit();
    }
  } catch (...) {
    std::error_code ec;
    for (const auto& [out, earlier] : renamed) {
      if (!earlier) {
        fs::remove(out->target(), ec);  // none before; the one failing was not renamed and is not there
      } else if (fs::rename(earlier->temp_path(), out->target(), ec); ec) {
        earlier->keep_temp();  // its only name now: never removed
        log_warn("{}: the file it replaced could not be put back ({}); it is kept as {}", out->target().string(),
                 ec.message(), earlier->temp_path().string());
      }
    }
    throw;
  }
}

}  // namespace kfold::data

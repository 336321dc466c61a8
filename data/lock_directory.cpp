// Lock files (lock_directory.hpp). Creation by link() of a complete temporary file is atomic
// on local file systems and on NFS; breaking a stale lock is serialised by a mkdir "breaker" so two workers
// never both take it, and the breaker renames its own lock over the stale one (the taker always knows it took over).
#include "data/lock_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/process_owner.hpp"
#include "data/sequence.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

namespace {

// Held lock paths for the signal handler: SIGTERM (SLURM's time limit, scancel), SIGINT and SIGHUP
// remove them before the process dies, so other hosts need not wait for the stale time. A path is known
// here before its file can exist, and the handler removes a file only when it names this process (its
// first line is this process's owner line): so a lock being taken, or one another worker took over, is
// safe. Only async-signal-safe work happens in the handler (reading these slots, open, read, unlink, write, raise).
// The worker's thread and its heartbeat thread change the slots (under held_slots_mutex); the handler reads them.
struct HeldSlot {
  std::atomic<int> used{0};  // lock-free: async-signal-safe
  char path[4096] = {};
};
static_assert(std::atomic<int>::is_always_lock_free);
HeldSlot held_slots[64];
std::mutex held_slots_mutex;
char signal_owner[1024] = {};  // "<owner line>\n" of this process, set before any slot is used
size_t signal_owner_size = 0;

// Whether the file at `path` starts with signal_owner (async-signal-safe).
bool names_this_process(const char* path) {
  // Never blocks (a FIFO planted under the name) nor follows a link; only a plain file can name this process.
  const int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  if (struct stat info{}; ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return false;
  }
  char buffer[sizeof(signal_owner)];
  size_t got = 0;
  while (got < signal_owner_size) {
    const ssize_t n = ::read(fd, buffer + got, signal_owner_size - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return signal_owner_size > 0 && got == signal_owner_size && std::memcmp(buffer, signal_owner, got) == 0;
}

extern "C" void release_locks_and_die(int signal_number) {
  for (auto& slot : held_slots)
    if (slot.used.load(std::memory_order_acquire) != 0 && names_this_process(slot.path)) ::unlink(slot.path);
  // The job log's last line (scancel, a time limit, requeue): fixed text, write() only.
  const char* said = signal_number == SIGTERM  ? "kfold batch: stopped by SIGTERM; its target locks are released "
                                                 "(a rerun finishes its targets and rewrites summary.tsv)\n"
                     : signal_number == SIGINT ? "kfold batch: stopped by SIGINT; its target locks are released "
                                                 "(a rerun finishes its targets and rewrites summary.tsv)\n"
                                               : "kfold batch: stopped by SIGHUP; its target locks are released "
                                                 "(a rerun finishes its targets and rewrites summary.tsv)\n";
  char prefix[kLogPrefixSize];  // the log lines' stamp and tag (install_signal_handlers read them), in one write(2)
  char line[sizeof(prefix) + 160];
  const size_t n = std::strlen(log_line_prefix(prefix)), length = std::min(std::strlen(said), sizeof(line) - n);
  std::memcpy(line, prefix, n);
  std::memcpy(line + n, said, length);  // NOLINT(bugprone-not-null-terminated-result): written with its length
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line, n + length);
  die_by_signal(signal_number);  // as PID 1 too: a worker without its locks must not go on
}

void install_signal_handlers() {
  char prefix[kLogPrefixSize];
  log_line_prefix(prefix);  // reads KFOLD_LOG_TIME and KFOLD_LOG_TAG now, not in the handler (getenv is not safe there)
  for (const int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction current {};
    if (::sigaction(signal_number, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      ::signal(signal_number, release_locks_and_die);
  }
}

void remember_held(const fs::path& path) {
  const auto& text = path.native();
  if (text.size() >= sizeof(HeldSlot::path)) return;
  const std::lock_guard lock(held_slots_mutex);
  for (auto& slot : held_slots)
    if (slot.used.load(std::memory_order_relaxed) == 0) {
      std::memcpy(slot.path, text.c_str(), text.size() + 1);
      slot.used.store(1, std::memory_order_release);  // the path is complete before the handler may see it
      return;
    }
}

void forget_held(const fs::path& path) {
  const std::lock_guard lock(held_slots_mutex);
  for (auto& slot : held_slots)
    if (slot.used.load(std::memory_order_relaxed) != 0 && path.native() == slot.path)
      slot.used.store(0, std::memory_order_release);
}

// Seconds since `path` was last written, by the clock that stamps the lock files (data::file_system_now: on NFS
// the server's, so a worker whose clock runs ahead or behind the others' neither takes a live lock early nor waits
// for a dead one's timeout plus the skew).
double age_seconds(const fs::path& path, const fs::path& lock_folder) {
  std::error_code error;
  const auto written = fs::last_write_time(path, error);
  if (error) return 0;
  return std::chrono::duration<double>(data::file_system_now(lock_folder) - written).count();
}

// The lock file's lines: the owner, then "heartbeat_timeout SECONDS" (absent in an older version's lock).
std::vector<std::string> lock_lines(const fs::path& lock) {
  std::vector<std::string> lines;
  std::error_code error;
  if (!fs::is_regular_file(lock, error)) return lines;  // no lock of kfold's (a FIFO would block for ever)
  std::ifstream in(lock);
  for (std::string line; lines.size() < 4 && std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The owner's stale time, 0 when the lock does not say.
double holder_timeout(const std::vector<std::string>& lines) {
  for (const auto& line : lines)
    if (line.starts_with("heartbeat_timeout "))
      return data::parse_decimal(data::trim_spaces(std::string_view(line).substr(18))).value_or(0.0);
  return 0.0;
}

// Whether the lock file names another process than this one. A file that cannot be read (a passing NFS
// error, too many open files) or is gone does not: only an owner line read and different means a takeover.
bool owned_by_another(const fs::path& lock, const std::string& owner_line) {
  const auto lines = lock_lines(lock);
  return !lines.empty() && !lines.front().empty() && lines.front() != owner_line;
}

// link(2)'s errors of a file system without hard links (some FUSE, SMB and object-store mounts).
bool no_hard_links(int error) { return error == EPERM || error == ENOTSUP || error == EOPNOTSUPP || error == ENOSYS; }

// The lock made in place where a file system has no hard links: O_EXCL still lets one worker create it, but
// others may read it before its line is written (an owner not yet named reads as no owner; its fresh age keeps
// it from being taken as stale). 0, or the errno of what failed (the file is removed again then).
int create_lock_in_place(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) return errno;
  const ssize_t wrote = ::write(fd, text.data(), text.size());
  int error = wrote == static_cast<ssize_t>(text.size()) ? 0 : wrote < 0 ? errno : ENOSPC;
  if (error == 0 && ::fsync(fd) != 0 && errno != EINVAL) error = errno;
  ::close(fd);
  if (error != 0) ::unlink(path.c_str());
  return error;
}

}  // namespace

// Touches every held lock at a fixed interval until destroyed.
struct LockDirectory::Heartbeat {
  std::mutex mutex;
  std::condition_variable wake;
  std::set<fs::path> held;
  bool stop = false;
  std::thread thread;

  Heartbeat(std::chrono::seconds interval, std::string owner_line) {
    thread = std::thread([this, interval, owner_line = std::move(owner_line)] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!wake.wait_for(lock, interval, [this] { return stop; })) {
        try {
          beat(owner_line);
        } catch (...) {  // an exception escaping a thread ends the process; the next beat tries again
        }
      }
    });
  }
  // Touches the held locks (under `mutex`); forgets those another worker took over.
  void beat(const std::string& owner_line) {
    for (auto it = held.begin(); it != held.end();) {
      if (owned_by_another(*it, owner_line)) {
        log_warn(
            "{}: another worker took this lock over (this one was stopped or suspended for longer than "
            "the lock timeout); its target may be written twice",
            it->string());
        forget_held(*it);  // nor may the signal handler remove it now
        it = held.erase(it);
        continue;
      }
      if (::utimensat(AT_FDCWD, it->c_str(), nullptr, 0) != 0)
        log_warn("lock heartbeat: cannot touch {}: {}", it->string(), std::strerror(errno));
      ++it;
    }
  }
  ~Heartbeat() {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    wake.notify_all();
    thread.join();
  }
};

std::string LockDirectory::owner_text() {
  const auto owner = data::this_process();
  return owner.host + " " + std::to_string(owner.pid) + " " + owner.start;
}

LockDirectory::LockDirectory(fs::path dir, std::chrono::seconds stale_after, bool remove_old_temp_files)
    : dir_(std::move(dir)), stale_after_(stale_after), owner_line_(data::owner_line(data::this_process())) {
  if (const auto text = owner_line_ + "\n"; text.size() < sizeof(signal_owner) && signal_owner_size == 0) {
    std::memcpy(signal_owner, text.data(), text.size());  // NOLINT(bugprone-not-null-terminated-result): sized
    std::atomic_signal_fence(std::memory_order_seq_cst);
    signal_owner_size = text.size();
  }
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error && data::is_storage_failure(error.value()))
    fail_runtime("{}: cannot create the lock folder: {}", dir_.string(), error.message());
  if (error) fail_input("{}: cannot create the lock folder: {}", dir_.string(), error.message());
  const auto interval =
      std::clamp<std::chrono::seconds>(stale_after / 10, std::chrono::seconds(1), std::chrono::seconds(30));
  heartbeat_ = std::make_unique<Heartbeat>(interval, owner_line_);
  if (remove_old_temp_files) data::remove_old_temp_files(dir_, stale_after);  // lock files a killed worker left
}

void LockDirectory::release_locks_on_signals() { install_signal_handlers(); }

LockDirectory::~LockDirectory() = default;

bool LockDirectory::is_stale(const fs::path& lock) const {
  // Same host and PID namespace (or a lock of an older version, which does not say): the owner is gone when its
  // pid is free or now names another process. Another host, another PID namespace of this host (a container),
  // or a lock whose owner died before writing it: the heartbeat tells.
  // Something else than a file under the name (a FIFO, a folder, a link) is no worker's lock: stale now.
  std::error_code error;
  if (!fs::is_regular_file(fs::symlink_status(lock, error))) return fs::exists(fs::symlink_status(lock, error));
  data::ProcessOwner owner;
  if (data::read_process_owner(lock, owner))
    if (const auto running = data::process_is_running(owner)) return !*running;
  return age_seconds(lock, dir_) >
         std::max(static_cast<double>(stale_after_.count()), holder_timeout(lock_lines(lock)));
}

std::string LockDirectory::holder_text(const std::string& name) const {
  const auto path = dir_ / (name + ".lock");
  data::ProcessOwner owner;
  const std::string who = data::read_process_owner(path, owner)
                              ? fmt::format("pid {} on {}", owner.pid, owner.host)
                              : std::string("a worker that had not yet written its name");
  // On this host a live owner keeps its lock whatever its heartbeat (it may only be slow): a hung one is
  // the user's to stop.
  if (const auto running = data::read_process_owner(path, owner) ? data::process_is_running(owner) : std::nullopt;
      running && *running)
    return fmt::format(
        "{}, heartbeat {:.0f} s ago (alive on this host: not taken over while it runs; if it hangs, stop it; lock "
        "{})",
        who, age_seconds(path, dir_), path.string());
  const double timeout = std::max(static_cast<double>(stale_after_.count()), holder_timeout(lock_lines(path)));
  return fmt::format("{}, heartbeat {:.0f} s ago (taken over after {:.0f} s without one; lock {})", who,
                     age_seconds(path, dir_), timeout, path.string());
}

bool LockDirectory::held_by_live_worker(const std::string& name) const {
  const auto path = dir_ / (name + ".lock");
  std::error_code error;
  return fs::exists(path, error) && !is_stale(path);
}

std::unique_ptr<TargetLock> LockDirectory::try_lock(const std::string& name) {
  const auto path = dir_ / (name + ".lock");
  // The lock is written whole under a name of this process's, then linked to its own name: link() is atomic
  // and fails when the lock exists (on NFS too), so a lock file always names its owner. Both names are known
  // to the signal handler before their files can exist (it removes only files naming this process).
  const auto text = fmt::format("{}\nheartbeat_timeout {}\n", owner_line_, stale_after_.count());
  bool took_over = false;
  // This worker holds the breaker of the stale lock at `path`: its own lock replaces that one in one rename, with
  // no moment without a lock file (in which another worker's link() would take the target, and the death this
  // takeover stands for would go uncounted: took_over_stale() false for the worker that got it).
  bool replace = false;
  const auto breaker = fs::path(path.string() + ".break");
  const auto leave_breaker = [&] {
    if (replace) ::rmdir(breaker.c_str());
    replace = false;
  };
  std::random_device entropy;  // (the temporary name only: results never depend on it)
  for (int attempt = 0; attempt < 3; ++attempt) {
    // A temporary-file name (data/) of this process's, made exclusively (O_EXCL never follows a link): a pid
    // alone is not unique on a shared folder (other hosts, containers), so a random part follows it, and a
    // name that is taken (another worker's file, a link someone planted) is left alone for another.
    fs::path temp;
    int fd = -1;
    remember_held(path);
    for (int names = 0; names < 16 && fd < 0; ++names) {
      temp = dir_ / fmt::format(".{}.lock.tmp.{}.{:08x}{:08x}", name, ::getpid(), entropy(), entropy());
      remember_held(temp);
      fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0666);  // umask decides
      if (fd < 0 && errno != EEXIST) break;
      if (fd < 0) forget_held(temp);
    }
    const int open_error = fd < 0 ? errno : 0;
    if (fd < 0 && open_error == ENOENT && attempt < 2) {
      // The lock folder went away (a failed kfold predict removes the empty folders it made): made again.
      forget_held(temp);
      forget_held(path);
      leave_breaker();
      std::error_code ignored;
      fs::create_directories(dir_, ignored);
      continue;
    }
    const ssize_t wrote = fd >= 0 ? ::write(fd, text.data(), text.size()) : -1;
    if (wrote >= 0 && wrote < static_cast<ssize_t>(text.size())) errno = ENOSPC;  // a short write sets no errno
    const bool written = wrote == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    const int write_error = errno;
    if (fd >= 0) ::close(fd);
    const bool renamed = written && replace && ::rename(temp.c_str(), path.c_str()) == 0;
    bool linked = renamed || (written && !replace && ::link(temp.c_str(), path.c_str()) == 0);
    int link_error = errno;
    if (fd >= 0 && !renamed) ::unlink(temp.c_str());  // (only a file this process made)
    forget_held(temp);
    if (written && !linked && !replace && no_hard_links(link_error)) {
      static std::once_flag said;
      std::call_once(said, [&] {
        log_info(
            "{}: the file system refuses hard links ({}): locks are created in place, exclusively (O_EXCL; where "
            "that is not atomic across hosts, some object-store mounts, give each host its own output folder)",
            dir_.string(), std::strerror(link_error));
      });
      link_error = create_lock_in_place(path, text);
      linked = link_error == 0;
    }
    const bool replacing = replace;
    leave_breaker();
    if (linked) {
      const std::lock_guard<std::mutex> lock(heartbeat_->mutex);
      heartbeat_->held.insert(path);
      return std::unique_ptr<TargetLock>(new TargetLock(this, path, took_over));
    }
    forget_held(path);
    if (fd < 0)
      fail_runtime("{}: cannot create a lock file in {}: {}", path.string(), dir_.string(), std::strerror(open_error));
    if (!written)
      fail_runtime("{}: cannot write the lock file (disk full or file size limit?): {}", path.string(),
                   std::strerror(write_error));
    if (replacing)
      fail_runtime("{}: cannot replace this stale lock ({}); remove it by hand", path.string(),
                   std::strerror(link_error));
    if (link_error != EEXIST)
      fail_runtime("{}: cannot create the lock file: {}", path.string(), std::strerror(link_error));
    if (!is_stale(path)) return nullptr;
    // Break the stale lock; the breaker folder makes sure one worker does it, and it is re-checked inside.
    if (::mkdir(breaker.c_str(), 0777) != 0) {
      if (errno == EEXIST && age_seconds(breaker, dir_) > 60) ::rmdir(breaker.c_str());  // its breaker died
      continue;
    }
    if (!is_stale(path)) {
      ::rmdir(breaker.c_str());
      continue;
    }
    log_info("taking over the stale lock {}", path.string());
    took_over = true;
    std::error_code error;
    if (fs::is_regular_file(fs::symlink_status(path, error))) {
      replace = true;  // the next attempt's lock replaces it, the breaker held until then
      continue;
    }
    // (a folder there is no lock either: removed when empty)
    if (::unlink(path.c_str()) != 0 && !(errno == EISDIR && ::rmdir(path.c_str()) == 0) && errno != ENOENT) {
      const int unlink_error = errno;
      ::rmdir(breaker.c_str());
      fail_runtime("{}: cannot remove this stale lock ({}); remove it by hand", path.string(),
                   std::strerror(unlink_error));
    }
    ::rmdir(breaker.c_str());
  }
  leave_breaker();
  return nullptr;
}

std::unique_ptr<TargetLock> LockDirectory::lock_waiting(const std::string& name, std::chrono::seconds max_wait) {
  const auto since = std::chrono::steady_clock::now();
  auto lock = try_lock(name);
  while (!lock && std::chrono::steady_clock::now() - since < max_wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    check_interrupt();
    lock = try_lock(name);
  }
  return lock;
}

TargetLock::TargetLock(LockDirectory* owner, fs::path path, bool took_over_stale)
    : owner_(owner), path_(std::move(path)), took_over_stale_(took_over_stale) {}
TargetLock::TargetLock(TargetLock&& other) noexcept
    : owner_(other.owner_), path_(std::move(other.path_)), took_over_stale_(other.took_over_stale_) {
  other.owner_ = nullptr;
}
TargetLock& TargetLock::operator=(TargetLock&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    path_ = std::move(other.path_);
    took_over_stale_ = other.took_over_stale_;
    other.owner_ = nullptr;
  }
  return *this;
}
TargetLock::~TargetLock() {
  try {
    release();
  } catch (...) {  // (a destructor must not throw) the check before the unlink failed: the lock is left in place,
  }                // stale once this process is gone, taken over then
}

void TargetLock::release() {
  if (owner_ == nullptr) return;
  {  // Out of the heartbeat's set first: touched after the unlink, it would warn of a missing file, or of a
     // takeover when another worker's lock has its name by then.
    const std::lock_guard<std::mutex> guard(owner_->heartbeat_->mutex);
    owner_->heartbeat_->held.erase(path_);
  }
  // Unlinked before the signal handler forgets it: a SIGTERM between the two steps (the moment a target
  // is done, when schedulers' and tests' signals tend to come) must not leave the lock behind. A lock
  // another worker took over is its lock now.
  if (!owned_by_another(path_, owner_->owner_line_))
    ::unlink(path_.c_str());
  else
    log_warn("{}: taken over by another worker while this one held it; left to it", path_.string());
  forget_held(path_);
  owner_ = nullptr;
}

}  // namespace kfold::data

// Lock files for processes sharing a file system (NFS included): kfold batch's and predict's per target, kfold
// search's and agent's per output folder. Created atomically, kept fresh by a heartbeat, and taken over when its
// owner is gone (a dead process on the same host at once; on another host once the heartbeat is older than the
// stale time). With release_locks_on_signals (kfold batch), SIGTERM, SIGINT and SIGHUP remove the held locks before
// the process dies. A lock file is written whole under a temporary name and linked to its name (atomic, failing when
// it exists): it always names its owner.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace kfold::data {

class LockDirectory;

// Held while alive; the destructor removes the lock file.
class TargetLock {
 public:
  TargetLock(TargetLock&&) noexcept;
  TargetLock& operator=(TargetLock&&) noexcept;
  ~TargetLock();
  const std::filesystem::path& path() const { return path_; }
  // Whether this lock was taken over from a worker gone without releasing it (killed by SIGKILL, crashed, its
  // node lost): a worker stopped by SIGTERM, SIGINT or SIGHUP releases its locks as it dies.
  bool took_over_stale() const { return took_over_stale_; }

 private:
  friend class LockDirectory;
  TargetLock(LockDirectory* owner, std::filesystem::path path, bool took_over_stale);
  void release();
  LockDirectory* owner_ = nullptr;
  std::filesystem::path path_;
  bool took_over_stale_ = false;
};

// The lock files of one folder (kfold batch's DIR/.locks/<id>.lock) and the heartbeat that refreshes the held
// ones. A lock file holds "host pid process-start-time boot-id/pid-namespace" and, on a second line,
// "heartbeat_timeout SECONDS", its owner's stale time; the owner's pid is looked up only on the same host in
// the same PID namespace (containers of one host share its name, not its pids). A lock is stale after the
// longer of the owner's and the reader's stale times (a worker with a short --lock-timeout must not take
// the lock of a live one whose heartbeat is slower). Releasing or refreshing a lock first checks that it
// still names this process: one taken over (its owner suspended past the stale time) is left to the taker.
class LockDirectory {
 public:
  // `stale_after`: a lock whose heartbeat is older than this is taken over (the heartbeat runs every
  // stale_after / 10, at most every 30 s). `remove_old_temp_files`: the temporary files in `dir` older than that
  // go first (lock files a killed worker had not linked yet); off for a folder of other files (kfold search's).
  LockDirectory(std::filesystem::path dir, std::chrono::seconds stale_after, bool remove_old_temp_files = true);
  ~LockDirectory();
  LockDirectory(const LockDirectory&) = delete;
  LockDirectory& operator=(const LockDirectory&) = delete;

  // The lock of `name`, or nullptr when a live owner holds it.
  std::unique_ptr<TargetLock> try_lock(const std::string& name);
  // try_lock again every 0.2 s while a live owner holds it, for at most `max_wait` (nullptr after that); Ctrl-C
  // stops the wait (Interrupted).
  std::unique_ptr<TargetLock> lock_waiting(const std::string& name, std::chrono::seconds max_wait);

  // From now on SIGTERM, SIGINT and SIGHUP, where nothing else handles them (their default action), remove this
  // process's held locks, log a line and end it (kfold batch: its state is resumable at any instant, and a
  // scheduler's SIGKILL follows its SIGTERM within seconds). Others (the CLI's commands, a Python process) keep
  // their own handling: a lock of a process that died is taken over.
  static void release_locks_on_signals();

  // "host pid start" of this process, as its lock files hold it.
  static std::string owner_text();

  // Who holds the lock of `name` and when it will be taken over, for messages: "pid 123 on node17, heartbeat
  // 42 s ago (taken over after 600 s without one)".
  std::string holder_text(const std::string& name) const;

  // True when the lock of `name` exists and its owner is alive (not stale): for DIR/summary.tsv's "running".
  bool held_by_live_worker(const std::string& name) const;

 private:
  friend class TargetLock;
  struct Heartbeat;
  bool is_stale(const std::filesystem::path& lock) const;

  std::filesystem::path dir_;
  std::chrono::seconds stale_after_;
  std::string owner_line_;  // this process, as the first line of its lock files
  std::unique_ptr<Heartbeat> heartbeat_;
};

}  // namespace kfold::data

// Lock files (data/lock_directory.hpp): one holder at a time, dead owners taken over (same host at once, other
// hosts after the stale time), live ones respected, the heartbeat keeps a held lock fresh.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "data/lock_directory.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using kfold::data::LockDirectory;

namespace {

std::string host_of_this_machine() {
  const auto owner = LockDirectory::owner_text();
  return owner.substr(0, owner.find(' '));
}

// The pid of a process that has exited (and been reaped): a dead owner.
long dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

void set_age(const fs::path& path, int seconds) {
  const struct timespec times[2] = {{time(nullptr) - seconds, 0}, {time(nullptr) - seconds, 0}};
  utimensat(AT_FDCWD, path.c_str(), times, 0);
}

}  // namespace

TEST_CASE("LockDirectory: one holder, released on destruction") {
  kfold::test::ScratchDir tmp("target_lock_basic");
  LockDirectory locks(tmp.path(), std::chrono::seconds(600));
  auto first = locks.try_lock("t1");
  REQUIRE(first);
  CHECK(fs::exists(tmp / "t1.lock"));
  std::ifstream in(tmp / "t1.lock");
  std::string text;
  std::getline(in, text);
  CHECK(text.starts_with(LockDirectory::owner_text() + " "));  // then the boot id and PID namespace
  CHECK_FALSE(locks.try_lock("t1"));                           // held by a live process (this one)
  CHECK(locks.try_lock("t2"));                                 // other targets are free
  first.reset();
  CHECK_FALSE(fs::exists(tmp / "t1.lock"));
  CHECK(locks.try_lock("t1"));
}

TEST_CASE("LockDirectory: lock_waiting waits for a live holder's release, at most its limit") {
  // (batch's summary.tsv is read and written under one: a worker's last summary waits for another's)
  kfold::test::ScratchDir tmp("target_lock_waiting");
  LockDirectory locks(tmp.path(), std::chrono::seconds(600));
  auto held = locks.try_lock(".summary");
  REQUIRE(held);
  CHECK_FALSE(locks.lock_waiting(".summary", std::chrono::seconds(0)));  // no wait: one try
  CHECK_FALSE(locks.lock_waiting(".summary", std::chrono::seconds(1)));  // held throughout: nullptr after the limit
  std::thread release([&held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    held.reset();
  });
  auto taken = locks.lock_waiting(".summary", std::chrono::seconds(600));  // returns at the release, not after 600 s
  release.join();
  CHECK(taken);
}

TEST_CASE("LockDirectory: a dead owner on this host is taken over at once") {
  kfold::test::ScratchDir tmp("target_lock_dead");
  LockDirectory locks(tmp.path(), std::chrono::seconds(600));
  std::ofstream(tmp / "t.lock") << host_of_this_machine() << " " << dead_pid() << " 12345\n";
  CHECK(locks.try_lock("t"));
  // A live pid whose start time differs: the pid was reused, the owner is gone.
  std::ofstream(tmp / "u.lock") << host_of_this_machine() << " " << getpid() << " 1\n";
  CHECK(locks.try_lock("u"));
  // A pid beyond pid_t, start unknown ('?'): narrowed to -1, kill(-1, 0) found "a live process" for ever.
  for (const char* pid : {"4294967295", "-1", "0"}) {
    std::ofstream(tmp / "v.lock") << host_of_this_machine() << " " << pid << " ?\n";
    CHECK_MESSAGE(locks.try_lock("v"), pid);
    fs::remove(tmp / "v.lock");
  }
}

TEST_CASE("LockDirectory: a lock of another PID namespace on this host (a container) waits for the stale time") {
  kfold::test::ScratchDir tmp("target_lock_namespace");
  LockDirectory locks(tmp.path(), std::chrono::seconds(60));
  // Its pid means nothing here (apptainer --containall, docker --network host: the host's name, their own pids).
  std::ofstream(tmp / "t.lock") << host_of_this_machine() << " " << dead_pid()
                                << " 12345 00000000-0000-0000-0000-000000000000/pid:[1]\n";
  CHECK_FALSE(locks.try_lock("t"));
  set_age(tmp / "t.lock", 120);
  CHECK(locks.try_lock("t"));
}

TEST_CASE("LockDirectory: another host's lock waits for the stale time") {
  kfold::test::ScratchDir tmp("target_lock_other_host");
  LockDirectory locks(tmp.path(), std::chrono::seconds(60));
  std::ofstream(tmp / "t.lock") << "node-elsewhere 4242 999\n";
  set_age(tmp / "t.lock", 30);
  CHECK_FALSE(locks.try_lock("t"));            // heartbeat 30 s old < 60 s: alive
  const auto holder = locks.holder_text("t");  // what the worker that leaves it says
  CHECK(holder.find("pid 4242 on node-elsewhere, heartbeat 3") == 0);
  CHECK(holder.find("taken over after 60 s without one") != std::string::npos);
  set_age(tmp / "t.lock", 120);
  CHECK(locks.try_lock("t"));  // no heartbeat for 120 s: gone
  // A lock file its owner died before writing (empty) follows the same rule.
  std::ofstream(tmp / "e.lock").flush();
  CHECK_FALSE(locks.try_lock("e"));
  CHECK(locks.holder_text("e").find("a worker that had not yet written its name") == 0);
  set_age(tmp / "e.lock", 120);
  CHECK(locks.try_lock("e"));
}

TEST_CASE("LockDirectory: the heartbeat keeps a held lock fresh") {
  kfold::test::ScratchDir tmp("target_lock_heartbeat");
  LockDirectory locks(tmp.path(), std::chrono::seconds(10));  // heartbeat every second
  auto held = locks.try_lock("t");
  REQUIRE(held);
  set_age(tmp / "t.lock", 100);
  // Polled, not a fixed sleep: a heartbeat thread starved past the sleep (a loaded machine) failed it.
  const auto age = [&] {
    struct stat st {};
    REQUIRE(stat((tmp / "t.lock").c_str(), &st) == 0);
    return difftime(time(nullptr), st.st_mtime);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (age() > 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(age() <= 50);  // renewed (its planted age: 100 s)
}

TEST_CASE("LockDirectory: a breaker folder its worker left (older than 60 s) does not block the takeover") {
  kfold::test::ScratchDir tmp("target_lock_old_breaker");
  LockDirectory locks(tmp.path(), std::chrono::seconds(600));
  std::ofstream(tmp / "t.lock") << host_of_this_machine() << " " << dead_pid() << " 12345\n";
  fs::create_directory(tmp / "t.lock.break");  // a worker died while breaking the lock
  set_age(tmp / "t.lock.break", 5);
  CHECK_FALSE(locks.try_lock("t"));  // a breaker at work: left to it
  set_age(tmp / "t.lock.break", 120);
  auto lock = locks.try_lock("t");
  REQUIRE(lock);
  CHECK(lock->took_over_stale());
  CHECK_FALSE(fs::exists(tmp / "t.lock.break"));
}

TEST_CASE("LockDirectory: of two workers racing for stale locks, the one that gets each knows it took it over") {
  // The breaker removed the stale lock, then linked its own: another worker's link() could come in between, hold
  // the target with took_over_stale() false, and the death went uncounted (batch's "crash after two deaths" rule).
  kfold::test::ScratchDir tmp("target_lock_race");
  constexpr int kTargets = 300;
  for (int t = 0; t < kTargets; ++t) {
    std::ofstream(tmp / fmt::format("t{}.lock", t)) << "node-elsewhere 4242 999\n";
    set_age(tmp / fmt::format("t{}.lock", t), 120);
  }
  // Two workers (their own lock folders' objects; one process: each sees the other's locks as a live owner's).
  LockDirectory first(tmp.path(), std::chrono::seconds(60)), second(tmp.path(), std::chrono::seconds(60));
  std::vector<std::unique_ptr<kfold::data::TargetLock>> held_first(kTargets), held_second(kTargets);
  std::atomic<int> ready{0};
  const auto race = [&](LockDirectory& locks, auto& held) {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    for (int t = 0; t < kTargets; ++t) held[static_cast<size_t>(t)] = locks.try_lock(fmt::format("t{}", t));
  };
  std::thread other([&] { race(second, held_second); });
  race(first, held_first);
  other.join();
  int untold = 0;
  for (int t = 0; t < kTargets; ++t) {
    const auto& a = held_first[static_cast<size_t>(t)];
    const auto& b = held_second[static_cast<size_t>(t)];
    REQUIRE(static_cast<bool>(a) != static_cast<bool>(b));  // exactly one holder
    untold += !(a ? a : b)->took_over_stale();
  }
  CHECK(untold == 0);
}

TEST_CASE("TargetLock: a lock another worker took over is left to it on release") {
  kfold::test::ScratchDir tmp("target_lock_taken_over");
  LockDirectory locks(tmp.path(), std::chrono::seconds(600));
  auto lock = locks.try_lock("t");
  REQUIRE(lock);
  std::ofstream(tmp / "t.lock") << "node-elsewhere 4242 999\nheartbeat_timeout 600\n";  // the new owner's
  lock.reset();
  CHECK(fs::exists(tmp / "t.lock"));
  std::ifstream in(tmp / "t.lock");
  std::string owner;
  std::getline(in, owner);
  CHECK(owner == "node-elsewhere 4242 999");
}

TEST_CASE("LockDirectory: links and FIFOs other users plant are neither written through nor waited on") {
  kfold::test::ScratchDir tmp("target_lock_planted");
  std::ofstream(tmp / "victim.txt") << "keep\n";
  LockDirectory locks(tmp / "locks", std::chrono::seconds(600));
  // A link under this process's temporary lock name (it was known from the pid alone; a random part follows
  // now, and the name is made with O_EXCL): the victim was overwritten with the lock's text; and the cleanup
  // judged the link's age by its target's, so it stayed.
  fs::create_symlink(tmp / "victim.txt", tmp / "locks" / fmt::format(".t.lock.tmp.{}", getpid()));
  CHECK(locks.try_lock("t"));
  std::ifstream victim(tmp / "victim.txt");
  std::string text;
  std::getline(victim, text);
  CHECK(text == "keep");
  fs::create_symlink(tmp / "victim.txt", tmp / "locks" / ".u.lock.tmp.1");
  LockDirectory again(tmp / "locks", std::chrono::seconds(600));  // removes old temporary files: links at once
  CHECK_FALSE(fs::is_symlink(fs::symlink_status(tmp / "locks" / ".u.lock.tmp.1")));
  // A FIFO under a lock's name blocked every worker reaching the target (reading its owner); it is no lock.
  REQUIRE(mkfifo((tmp / "locks" / "f.lock").c_str(), 0666) == 0);
  CHECK_FALSE(locks.held_by_live_worker("f"));
  const auto held = locks.try_lock("f");
  CHECK(held);
  CHECK(fs::is_regular_file(tmp / "locks" / "f.lock"));
  // A folder under a lock's name is no lock: removed when empty, else an error naming it (it looked held).
  fs::create_directories(tmp / "locks" / "d.lock");
  CHECK(locks.try_lock("d"));
  fs::create_directories(tmp / "locks" / "e.lock" / "inside");
  CHECK_THROWS_WITH(locks.try_lock("e"), doctest::Contains("e.lock: cannot remove this stale lock"));
}

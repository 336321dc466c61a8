// Process identity for locks (data/process_owner.hpp): a live owner, a gone one, a reused pid, and an owner
// whose /proc entry another user cannot read (/proc mounted hidepid=2, as many clusters mount it).
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/process_owner.hpp"
#include "test_support.hpp"

namespace data = kfold::data;

TEST_CASE("process_is_running: this process, a pid of no process, a pid reused by another process") {
  data::ProcessOwner owner = data::this_process();
  CHECK(data::process_is_running(owner) == true);
  auto reused = owner;
  reused.start = "1";  // the pid, but another start time: the owner is gone
  CHECK(data::process_is_running(reused) == false);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto gone = owner;
  gone.pid = child;
  CHECK(data::process_is_running(gone) == false);
  auto elsewhere = owner;
  elsewhere.host = "another-host";
  CHECK(data::process_is_running(elsewhere) == std::nullopt);
}

TEST_CASE("process_is_running: another user's live process under /proc mounted hidepid=2 is not taken for gone") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root to mount a /proc with hidepid=2 in a mount namespace");
    return;
  }
  const data::ProcessOwner owner = data::this_process();  // root's, alive
  const int status = kfold::test::wait_status_in_child([&] {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("proc", "/proc", "proc", 0, "hidepid=2") != 0)
      return 77;  // no mount namespace here (a container without the capability)
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 78;
    if (data::pid_exists(owner.pid) == false) return 1;
    const auto running = data::process_is_running(owner);
    return running == std::nullopt ? 0 : running == true ? 2 : 3;  // 3: gone, the defect
  });
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 78) {
    MESSAGE("skipped: cannot mount /proc or change user here");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

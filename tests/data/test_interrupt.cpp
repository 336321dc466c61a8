// Safe-point interrupts (data/interrupt.hpp): the first signal raises the flag that check_interrupt()
// turns into Interrupted (exit code 128 + signal); a second signal kills the process. Each case runs in
// a forked child so that the signals never reach the test runner.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <thread>

#include "data/interrupt.hpp"
#include "test_support.hpp"

namespace {

int in_child(const std::function<int()>& body) {
  const int status = kfold::test::wait_status_in_child(body);
  REQUIRE(status != -1);
  return status;
}

}  // namespace

TEST_CASE("interrupt: the first signal is a flag, check_interrupt throws Interrupted with 128 + signal") {
  const int status = in_child([] {
    kfold::install_interrupt_handlers();
    if (kfold::interrupt_signal() != 0) return 10;
    kfold::check_interrupt();  // nothing yet
    std::raise(SIGTERM);
    if (kfold::interrupt_signal() != SIGTERM) return 11;
    try {
      kfold::check_interrupt();
    } catch (const kfold::Interrupted& e) {
      const std::string what = e.what();
      return e.exit_code() == 128 + SIGTERM && what.find("interrupted by SIGTERM") != std::string::npos ? 0 : 12;
    }
    return 13;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("interrupt: the handler leaves errno as the interrupted code set it, even when its write fails") {
  const int status = in_child([] {
    kfold::install_interrupt_handlers();
    ::close(STDERR_FILENO);  // the handler's message fails with EBADF
    errno = ENOENT;
    std::raise(SIGINT);
    return kfold::interrupt_signal() == SIGINT && errno == ENOENT ? 0 : 10;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("interrupt: a second signal stops the process at once") {
  const int status = in_child([] {
    kfold::install_interrupt_handlers();
    std::raise(SIGINT);
    std::raise(SIGINT);  // the default action: killed by SIGINT
    return 20;
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
}

TEST_CASE("interrupt: without the handlers the flag never rises (the Python module, libraries)") {
  const int status = in_child([] {
    kfold::install_interrupt_handlers();
    kfold::remove_interrupt_handlers();
    std::raise(SIGTERM);  // the default action again
    return 30;
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
}

TEST_CASE("interrupt: a signal ignored when kfold starts stays ignored (nohup's SIGHUP), and after removal too") {
  const int status = in_child([] {
    std::signal(SIGHUP, SIG_IGN);  // as nohup leaves it
    kfold::install_interrupt_handlers();
    std::raise(SIGHUP);
    if (kfold::interrupt_signal() != 0) return 40;  // not taken as an interrupt
    kfold::remove_interrupt_handlers();
    std::raise(SIGHUP);  // still ignored: the previous disposition is restored, not the default
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("interrupt: a thread's cancel check runs at its safe points, nested scopes restore the outer one") {
  struct Flag {
    bool raise = false;
    int calls = 0;
  };
  const auto check = [](const void* context) {
    auto* flag = const_cast<Flag*>(static_cast<const Flag*>(context));
    ++flag->calls;
    if (flag->raise) throw std::runtime_error("cancelled");
  };
  Flag outer, inner;
  CHECK_NOTHROW(kfold::check_interrupt());  // none yet
  {
    const kfold::ScopedCancelCheck watching_outer(check, &outer);
    kfold::check_interrupt();
    {
      const kfold::ScopedCancelCheck watching_inner(check, &inner);
      inner.raise = true;
      CHECK_THROWS_WITH(kfold::check_interrupt(), "cancelled");
    }
    kfold::check_interrupt();
    std::thread([] { kfold::check_interrupt(); }).join();  // another thread has its own (none)
    CHECK(outer.calls == 2);
    CHECK(inner.calls == 1);
  }
  outer.raise = true;
  CHECK_NOTHROW(kfold::check_interrupt());  // the scope ended
  CHECK(outer.calls == 2);
}

// MappedFileGuard (data/mapped_file_guard.hpp): a file cut short while mapped ends the process with a message
// naming it and status 1, not a bare SIGBUS; a range no guard holds gets the message without a name.
// Each case runs in a forked child (the handler exits the process). Under ASan or TSan SIGBUS is the sanitizer's
// (kfold installs its handler only over the default), so the cases are skipped there.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/mapped_file_guard.hpp"
#include "data/npz_file.hpp"
#include "test_support.hpp"

namespace data = kfold::data;
namespace fs = std::filesystem;

namespace {

struct ChildEnd {
  int status = 0;
  std::string stderr_text;
};

// Runs `body` in a forked child with its stderr piped back.
ChildEnd run_in_child(const std::function<void()>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    body();
    ::_exit(0);  // not reached when the body raises SIGBUS
  }
  ::close(pipe_fds[1]);
  ChildEnd end;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    end.stderr_text.append(buffer, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  REQUIRE(::waitpid(child, &end.status, 0) == child);
  return end;
}

}  // namespace

TEST_CASE("A parameter file cut short while mapped: the message names it, status 1") {
  if (kfold::test::sanitizer_handles_sigbus() || !data::MappedFileGuard::handler_installed()) {
    MESSAGE("skipped: SIGBUS is a sanitizer's here (kfold installs its handler only over the default action)");
    return;
  }
  kfold::test::ScratchDir dir("mapped_file_guard_npz");
  const auto path = dir / "params_model_1.npz";
  fs::copy_file(kfold::test::source_dir() / "tests/fixtures/npz/stored.npz", path);
  const ChildEnd end = run_in_child([&] {
    const data::NpzFile npz(path);
    ::truncate(path.c_str(), 0);  // `cp` onto it
    volatile float first = npz.read<float>("scalar").at(0);
    (void)first;
  });
  CHECK(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  const std::string expected = "kfold: error: " + path.string() +
                               ": this memory-mapped file was truncated or replaced in place while kfold was "
                               "reading it (SIGBUS); let it be written completely";
  CHECK_MESSAGE(end.stderr_text.find(expected) != std::string::npos, end.stderr_text);
}

// No ';' in a test name: doctest_discover_tests splits the name there into two CTest tests whose --test-case
// filters match no test, and both pass without running it.
TEST_CASE("A released guard no longer names its file, and with the table full a SIGBUS anywhere gets the message") {
  if (kfold::test::sanitizer_handles_sigbus() || !data::MappedFileGuard::handler_installed()) {
    MESSAGE("skipped: SIGBUS is a sanitizer's here (kfold installs its handler only over the default action)");
    return;
  }
  kfold::test::ScratchDir dir("mapped_file_guard_released");
  const auto path = dir / "data.bin";
  std::ofstream(path) << std::string(1 << 16, 'A');
  const ChildEnd end = run_in_child([&] {
    const int fd = ::open(path.c_str(), O_RDONLY);
    void* map = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_SHARED, fd, 0);
    data::MappedFileGuard guard(map, 1 << 16, path);
    guard.release();
    // More guards than the table holds: the ones beyond it register nothing and do no harm.
    std::vector<data::MappedFileGuard> others;
    for (int i = 0; i < data::MappedFileGuard::kMaxMappings + 8; ++i)
      others.emplace_back(reinterpret_cast<const void*>(uintptr_t{0x1000} * (i + 1)), 0x1000, dir / "other");
    ::truncate(path.c_str(), 0);
    volatile uint8_t last = static_cast<const uint8_t*>(map)[(1 << 16) - 1];
    (void)last;
  });
  CHECK(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  CHECK_MESSAGE(
      end.stderr_text.find("kfold: error: a memory-mapped file (a sequence database, its k-mer index, a "
                           "parameter or feature file) was truncated or replaced in place") != std::string::npos,
      end.stderr_text);
  CHECK(end.stderr_text.find(path.string()) == std::string::npos);
}

TEST_CASE("A SIGBUS outside every guarded map is not kfold's: the default action, without a message") {
  if (kfold::test::sanitizer_handles_sigbus() || !data::MappedFileGuard::handler_installed()) {
    MESSAGE("skipped: SIGBUS is a sanitizer's here (kfold installs its handler only over the default action)");
    return;
  }
  // The application's own map cut short (kfold's handler stays installed once a file was mapped: in a Python
  // process after a search or a prediction), and a SIGBUS sent with kill, whose si_addr is no address.
  kfold::test::ScratchDir dir("mapped_file_guard_foreign");
  const auto path = dir / "application.bin";
  for (const bool sent : {false, true}) {
    CAPTURE(sent);
    std::ofstream(path) << std::string(1 << 16, 'A');
    const ChildEnd end = run_in_child([&] {
      const rlimit no_core{0, 0};
      ::setrlimit(RLIMIT_CORE, &no_core);  // the child dies of SIGBUS: no core file
      const int fd = ::open(path.c_str(), O_RDONLY);
      void* map = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_SHARED, fd, 0);
      const std::vector<char> other(4096);
      const data::MappedFileGuard guard(other.data(), other.size(), dir / "params_model_1.npz");  // the handler
      if (sent) ::kill(::getpid(), SIGBUS);
      ::truncate(path.c_str(), 0);
      volatile uint8_t last = static_cast<const uint8_t*>(map)[(1 << 16) - 1];
      (void)last;
    });
    CHECK(WIFSIGNALED(end.status));
    CHECK(WTERMSIG(end.status) == SIGBUS);
    CHECK_MESSAGE(end.stderr_text.find("kfold: error") == std::string::npos, end.stderr_text);
  }
}

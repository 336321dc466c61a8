// Helpers shared by the C++ test suites: paths to test data, scratch directories, captured warnings.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "data/log.hpp"

namespace kfold::test {

// Root of the source tree (for committed fixtures under tests/ and data/examples/).
inline std::filesystem::path source_dir() { return KFOLD_SOURCE_DIR; }

// Whether a sanitizer takes SIGBUS in this build (ASan, TSan: TSan even runs its own report where a program
// installed a handler), so that kfold's SIGBUS handler does not run. GCC defines __SANITIZE_*__, clang does not.
constexpr bool sanitizer_handles_sigbus() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// Runs `body` in a forked child process (its signals and resource limits stay there) and returns the child's
// wait status; -1 when the fork or the wait failed.
inline int wait_status_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) ::_exit(body());
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid ? status : -1;
}

// The bytes of a file ("" when it cannot be read).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh, empty directory under the build tree, removed when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name)
      : path_(std::filesystem::path(KFOLD_BINARY_DIR) / "test-scratch" / std::string(name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / std::string(name); }

 private:
  std::filesystem::path path_;
};

// The warning lines logged while the object lives (the default log sink is back afterwards).
class CapturedWarnings {
 public:
  CapturedWarnings() {
    set_log_sink([this](LogLevel level, std::string_view line) {
      if (level == LogLevel::warn) lines.emplace_back(line);
    });
  }
  ~CapturedWarnings() { set_log_sink(nullptr); }
  CapturedWarnings(const CapturedWarnings&) = delete;
  CapturedWarnings& operator=(const CapturedWarnings&) = delete;
  std::vector<std::string> lines;
};

}  // namespace kfold::test

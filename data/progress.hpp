// Progress reporting for long work: a redrawn bar on a terminal, plain periodic log lines
// otherwise (batch logs), or a callback (the Python module's progress bar). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace kfold {

// Receives (label, done, total) on every visible update; replaces the default rendering. Called with
// caller_tag() (data/caller_tag.hpp) the tag of the thread that created the Progress.
using ProgressSink = std::function<void(const std::string& label, int64_t done, int64_t total)>;
void set_progress_sink(ProgressSink sink);

class Progress {
 public:
  // `total` <= 0 means unknown: only counts are shown.
  Progress(std::string label, int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);  // may be called from any thread
  void finish();                // final line; called by the destructor if needed

 private:
  void report(int64_t done, bool final);
  std::string label_;
  int64_t total_;
  uint64_t caller_tag_;  // the creating thread's (data/caller_tag.hpp): the sink sees it on every thread
  std::atomic<int64_t> done_{0};
  std::mutex mutex_;
  bool tty_;
  bool finished_ = false;
  int64_t shown_ = 0;  // the largest count reported
  int64_t last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
};

}  // namespace kfold

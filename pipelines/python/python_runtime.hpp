// What the Python module adds around long C++ calls: progress and log lines collected for the Python
// side to show (a tqdm bar, the `logging` module), and cooperative cancellation after Ctrl-C.
//
// C++ never calls into Python from here: the sinks only store what they receive, and the Python side
// polls it from the thread that waits for the call (kfold/_runner.py). So no C++ thread ever waits
// for the GIL while holding a kfold lock, and OpenMP workers can report progress freely.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "data/interrupt.hpp"
#include "data/log.hpp"

namespace kfold::python {

// Thrown at a progress point after the Python side cancelled the call; the module maps it to
// KeyboardInterrupt (the caller has usually stopped waiting by then).
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "cancelled (KeyboardInterrupt)"; }
};

// Created by the Python side for one call and cancelled when the user interrupts it; the C++ side
// checks it at its progress points (each recycling iteration of a model).
class CancelToken {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  void throw_if_cancelled() const {
    if (cancelled()) throw Cancelled();
  }
  // While the result lives, the library's safe points on this thread (check_interrupt: a model's blocks) throw
  // Cancelled once the token is cancelled.
  ScopedCancelCheck watch() const {
    return ScopedCancelCheck([](const void* token) { static_cast<const CancelToken*>(token)->throw_if_cancelled(); },
                             this);
  }

 private:
  std::atomic<bool> cancelled_{false};
};

// Calls: the Python side gives each call a tag (a number > 0), begins it before its thread starts and ends it
// when it stops waiting for it; the call's thread runs under the tag (data/caller_tag.hpp). Lines and reports
// made under a tag that is not begun (a call given up after Ctrl-C, threads of no call) count as untagged.
void begin_call(uint64_t call);
void end_call(uint64_t call);

// A progress report: the latest of one call, or (call 0) the latest of any.
struct ProgressSnapshot {
  std::string label;
  int64_t done = 0;
  int64_t total = 0;
  int64_t updates = 0;  // number of reports so far; unchanged means nothing new
};
void report_progress(const std::string& label, int64_t done, int64_t total);  // under caller_tag()
ProgressSnapshot progress_snapshot(uint64_t call = 0);

// Log lines not yet shown on the Python side, oldest first (at most the last 10,000 are kept): those of `call`
// and the untagged ones (call 0: the untagged ones alone).
struct LogRecord {
  LogLevel level;
  std::string message;
  uint64_t call = 0;
};
std::vector<LogRecord> take_log_records(uint64_t call = 0);

// Routes kfold's logger and progress reports into the stores above (once, when the module loads).
void install_sinks();

}  // namespace kfold::python

// Stopping at a safe point on SIGINT/SIGTERM/SIGHUP (the command line's Ctrl-C, `kill`, a scheduler):
// the first signal only sets a flag, which long computations check where stopping loses nothing (a
// search before its next unit of work, a model after a trunk block, an agent round between its
// stages). check_interrupt() then throws Interrupted; unwinding removes temporary files, and every
// file already written is complete. A second signal stops the process at once.
//
// Only the CLI installs the handlers; without them (the Python module, tests) the flag never rises.
#pragma once

#include <string>

#include "data/error.hpp"

namespace kfold {

// Exit code 128 + the signal number, as a shell reports a process killed by it.
class Interrupted : public Error {
 public:
  explicit Interrupted(int signal_number);
};

void install_interrupt_handlers();
// Back to the dispositions found by install_interrupt_handlers (the default action, the process dies at once,
// unless the signal was ignored then): for commands with their own handlers. Signals ignored when kfold started
// (nohup's SIGHUP) are never handled.
void remove_interrupt_handlers();
// The signal received since the handlers were installed, or 0.
int interrupt_signal();
// Throws Interrupted when a signal has arrived, and calls this thread's cancel check (below) if it has one.
void check_interrupt();

// While it lives, check_interrupt() on this thread also calls `check` (the Python module's cancel token: a
// model given up stops within one Evoformer block, not at the end of a recycling iteration). Nested scopes
// replace the outer one until they end.
class ScopedCancelCheck {
 public:
  explicit ScopedCancelCheck(void (*check)(const void*), const void* context);
  ~ScopedCancelCheck();
  ScopedCancelCheck(const ScopedCancelCheck&) = delete;
  ScopedCancelCheck& operator=(const ScopedCancelCheck&) = delete;

 private:
  void (*previous_check_)(const void*);
  const void* previous_context_;
};

// From a signal handler (async-signal-safe): the default action of `signal_number`, now (the signal unblocked),
// and where that does not end the process, exit code 128 + signal_number: as PID 1 of a container (docker
// without --init) the kernel ignores SIGTERM's default action, and a worker that had released its locks ran on.
[[noreturn]] void die_by_signal(int signal_number) noexcept;

}  // namespace kfold

// Safe-point interrupts (data/interrupt.hpp). The handler does only async-signal-safe work: an atomic
// exchange, clock_gettime(2) for KFOLD_LOG_TIME's stamp, write(2), and for a second signal die_by_signal (signal(2),
// sigprocmask(2), raise(2), _exit(2)).
#include "data/interrupt.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <initializer_list>
#include <iterator>
#include <string>

#include "data/log.hpp"

namespace kfold {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
// The dispositions found by install_interrupt_handlers, restored by remove_interrupt_handlers.
struct sigaction g_previous[std::size(kSignals)] = {};
bool g_installed[std::size(kSignals)] = {};

extern "C" void on_interrupt(int signal_number) {
  if (g_signal.exchange(signal_number) != 0) die_by_signal(signal_number);  // the second signal: stop now
  const int saved_errno = errno;  // write(2) may set it (stderr closed): the interrupted code reads its own
  constexpr char message[] =
      "kfold: stopping at the next safe point (outputs stay complete); signal again to stop at once\n";
  char stamp[kLogPrefixSize];
  log_line_prefix(stamp);                             // KFOLD_LOG_TIME's stamp and the tag, as every log line has
  char line[sizeof(stamp) + sizeof(message)] = "\n";  // one write(2): lines of other processes stay whole
  size_t length = 1;
  for (const char* part : {static_cast<const char*>(stamp), message})
    for (; *part != '\0'; ++part) line[length++] = *part;
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line, length);
  errno = saved_errno;
}

}  // namespace

void die_by_signal(int signal_number) noexcept {
  ::signal(signal_number, SIG_DFL);
  sigset_t unblock;
  ::sigemptyset(&unblock);
  ::sigaddset(&unblock, signal_number);
  ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);  // blocked while its handler runs: delivered by raise
  ::raise(signal_number);
  ::_exit(128 + signal_number);  // PID 1 (of a PID namespace): the default action does not end it
}

namespace {

std::string signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(signal_number);
  }
}

}  // namespace

Interrupted::Interrupted(int signal_number)
    : Error("interrupted by " + signal_name(signal_number) +
                ": stopped at a safe point; each file written so far is complete and no partial file is left, but an "
                "output folder of kfold search, predict, batch or agent without its `done` marker is unfinished (its "
                "files may be of this run and an earlier "
                "one): run the command again to finish it",
            128 + signal_number) {}

void install_interrupt_handlers() {
  g_signal.store(0);
  char stamp[kLogPrefixSize];
  log_line_prefix(stamp);  // reads KFOLD_LOG_TIME and KFOLD_LOG_TAG now: getenv is not async-signal-safe
  for (size_t k = 0; k < std::size(kSignals); ++k) {
    // A signal the parent ignores (nohup's SIGHUP, SIGINT of a background job of a script) stays ignored.
    g_installed[k] = ::sigaction(kSignals[k], nullptr, &g_previous[k]) == 0 && g_previous[k].sa_handler != SIG_IGN;
    if (g_installed[k]) std::signal(kSignals[k], on_interrupt);
  }
}

void remove_interrupt_handlers() {
  for (size_t k = 0; k < std::size(kSignals); ++k)
    if (g_installed[k]) {
      ::sigaction(kSignals[k], &g_previous[k], nullptr);
      g_installed[k] = false;
    }
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

namespace {

thread_local void (*t_cancel_check)(const void*) = nullptr;
thread_local const void* t_cancel_context = nullptr;

}  // namespace

void check_interrupt() {
  if (const int s = interrupt_signal()) throw Interrupted(s);
  if (t_cancel_check != nullptr) t_cancel_check(t_cancel_context);
}

ScopedCancelCheck::ScopedCancelCheck(void (*check)(const void*), const void* context)
    : previous_check_(t_cancel_check), previous_context_(t_cancel_context) {
  t_cancel_check = check;
  t_cancel_context = context;
}

ScopedCancelCheck::~ScopedCancelCheck() {
  t_cancel_check = previous_check_;
  t_cancel_context = previous_context_;
}

}  // namespace kfold

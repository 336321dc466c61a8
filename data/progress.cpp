// Progress: bar on a TTY (redrawn at most 10 times a second), else a log line per 10% or
// per 30 s, always with an ETA.
#include "data/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/caller_tag.hpp"
#include "data/log.hpp"

namespace kfold {
namespace {

std::mutex g_sink_mutex;
ProgressSink g_sink;

std::string format_seconds(double s) {
  if (s < 0 || s > 1e7) return "?";
  const auto t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

}  // namespace

void set_progress_sink(ProgressSink sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      caller_tag_(caller_tag()),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_) {}

// A destructor must not throw: run while an error (out of memory, a cancellation) unwinds, the final report's
// allocations or the sink could, and std::terminate would end the process without the error's message.
Progress::~Progress() {
  try {
    finish();
  } catch (...) {  // the final line is lost; the error unwinding is what the user needs to see
  }
}

void Progress::advance(int64_t n) {
  const int64_t done = done_.fetch_add(n) + n;
  report(done, false);
}

void Progress::finish() { report(done_.load(), true); }

void Progress::report(int64_t done, bool final) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  // Threads add outside the lock and report in whatever order they take it: never a count below one shown.
  done = std::max(done, shown_);
  shown_ = done;
  if (final) finished_ = true;
  {
    std::lock_guard sink_lock(g_sink_mutex);
    if (g_sink) {
      const ScopedCallerTag tag(caller_tag_);
      g_sink(label_, done, total_);
      return;
    }
  }
  if (!log_enabled(LogLevel::info)) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double since_last = std::chrono::duration<double>(now - last_report_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  const std::string eta = (done > 0 && total_ > 0) ? format_seconds(elapsed / fraction - elapsed) : "?";
  if (tty_) {
    if (!final && since_last < 0.1) return;
    last_report_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    const std::string bar = std::string(static_cast<size_t>(std::min(filled, kWidth)), '#') +
                            std::string(static_cast<size_t>(kWidth - std::min(filled, kWidth)), ' ');
    if (total_ > 0)
      write_stderr(fmt::format("\r{} [{}] {}/{} ({:.0f}%) {} {}", label_, bar, done, total_, 100 * fraction,
                               final ? "in" : "ETA", final ? format_seconds(elapsed) : eta));
    else
      write_stderr(fmt::format("\r{} {} done ({})", label_, done, format_seconds(elapsed)));
    if (final) write_stderr("\n");
    return;
  }
  const int64_t decile = total_ > 0 ? static_cast<int64_t>(fraction * 10) : -1;
  if (!final && decile == last_decile_ && since_last < 30.0) return;
  last_decile_ = decile;
  last_report_ = now;
  if (total_ > 0)
    log_info("{}: {}/{} ({:.0f}%), {} {}", label_, done, total_, 100 * fraction, final ? "took" : "ETA",
             final ? format_seconds(elapsed) : eta);
  else
    log_info("{}: {} done ({})", label_, done, format_seconds(elapsed));
}

}  // namespace kfold

// Progress and log stores of the Python module (pipelines/python/python_runtime.hpp).
#include "pipelines/python/python_runtime.hpp"

#include <deque>
#include <iterator>
#include <mutex>

#include "data/progress.hpp"

namespace kfold::python {
namespace {

constexpr size_t kMaxLogRecords = 10000;

std::mutex g_progress_mutex;
ProgressSnapshot g_progress;

std::mutex g_log_mutex;
std::deque<LogRecord> g_log;

}  // namespace

void report_progress(const std::string& label, int64_t done, int64_t total) {
  std::lock_guard lock(g_progress_mutex);
  g_progress.label = label;
  g_progress.done = done;
  g_progress.total = total;
  ++g_progress.updates;
}

ProgressSnapshot progress_snapshot() {
  std::lock_guard lock(g_progress_mutex);
  return g_progress;
}

std::vector<LogRecord> take_log_records() {
  std::lock_guard lock(g_log_mutex);
  std::vector<LogRecord> records(std::make_move_iterator(g_log.begin()), std::make_move_iterator(g_log.end()));
  g_log.clear();
  return records;
}

void install_sinks() {
  set_log_sink([](LogLevel level, std::string_view message) {
    std::lock_guard lock(g_log_mutex);
    if (g_log.size() == kMaxLogRecords) g_log.pop_front();
    g_log.push_back({level, std::string(message)});
  });
  set_progress_sink([](const std::string& label, int64_t done, int64_t total) { report_progress(label, done, total); });
}

}  // namespace kfold::python

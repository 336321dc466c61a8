// Progress and log stores of the Python module (pipelines/python/python_runtime.hpp).
#include "pipelines/python/python_runtime.hpp"

#include <deque>
#include <iterator>
#include <map>
#include <mutex>

#include "data/caller_tag.hpp"
#include "data/progress.hpp"

namespace kfold::python {
namespace {

constexpr size_t kMaxLogRecords = 10000;

std::mutex g_mutex;                               // guards everything below
ProgressSnapshot g_latest;                        // of any call
std::map<uint64_t, ProgressSnapshot> g_progress;  // by call begun and not ended
std::deque<LogRecord> g_log;

// The tag lines and reports of the calling thread are stored under (mutex held).
uint64_t current_call() {
  const uint64_t tag = caller_tag();
  return g_progress.count(tag) > 0 ? tag : 0;
}

}  // namespace

void begin_call(uint64_t call) {
  std::lock_guard lock(g_mutex);
  g_progress[call] = {};
}

void end_call(uint64_t call) {
  std::lock_guard lock(g_mutex);
  g_progress.erase(call);
  for (LogRecord& r : g_log)
    if (r.call == call) r.call = 0;  // left for whichever caller flushes next
}

void report_progress(const std::string& label, int64_t done, int64_t total) {
  std::lock_guard lock(g_mutex);
  const auto update = [&](ProgressSnapshot& s) {
    s.label = label;
    s.done = done;
    s.total = total;
    ++s.updates;
  };
  update(g_latest);
  if (const uint64_t call = current_call(); call != 0) update(g_progress[call]);
}

ProgressSnapshot progress_snapshot(uint64_t call) {
  std::lock_guard lock(g_mutex);
  if (call == 0) return g_latest;
  const auto it = g_progress.find(call);
  return it == g_progress.end() ? ProgressSnapshot{} : it->second;
}

std::vector<LogRecord> take_log_records(uint64_t call) {
  std::lock_guard lock(g_mutex);
  std::vector<LogRecord> records;
  std::deque<LogRecord> left;
  for (LogRecord& r : g_log) {
    if (r.call == 0 || r.call == call)
      records.push_back(std::move(r));
    else
      left.push_back(std::move(r));
  }
  g_log = std::move(left);
  return records;
}

void install_sinks() {
  set_log_sink([](LogLevel level, std::string_view message) {
    std::lock_guard lock(g_mutex);
    if (g_log.size() == kMaxLogRecords) g_log.pop_front();
    g_log.push_back({level, std::string(message), current_call()});
  });
  set_progress_sink([](const std::string& label, int64_t done, int64_t total) { report_progress(label, done, total); });
}

}  // namespace kfold::python

// Levelled logger: one global level and sink guarded by a mutex; KFOLD_LOG_TIME=1 puts the UTC time before
// every line (a batch job's log file: when did that target start, how long did it wait).
#include "data/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace kfold {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::mutex g_mutex;
LogSink g_sink;

const char* level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warning";
    case LogLevel::error:
      return "error";
    case LogLevel::quiet:
      break;
  }
  return "";
}

// "2026-12-05T10:00:01Z " when KFOLD_LOG_TIME is 1 (read once), else "".
std::string time_prefix() {
  static const bool enabled = [] {
    const char* value = std::getenv("KFOLD_LOG_TIME");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  if (!enabled) return "";
  char text[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ ", &utc);
  return text;
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return g_level.load(); }

void set_log_sink(LogSink sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

void log_message(LogLevel level, std::string_view message) {
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  // info lines are plain; other levels carry their tag so they stand out in a batch log.
  if (level == LogLevel::info) {
    write_stderr(fmt::format("{}{}\n", time_prefix(), message));
  } else {
    write_stderr(fmt::format("{}[{}] {}\n", time_prefix(), level_tag(level), message));
  }
}

void write_stderr(std::string_view text) noexcept {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  std::clearerr(stderr);
}

}  // namespace kfold

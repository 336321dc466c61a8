// Levelled logger (fmt-formatted, to stderr by default, thread-safe). Library code logs
// here and never prints to stdout; the Python module installs its own sink.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace kfold {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

// Messages below this level are dropped. Default: info (CLI: -q → warn, -v → debug).
void set_log_level(LogLevel level);
LogLevel log_level();
inline bool log_enabled(LogLevel level) { return level >= log_level() && level != LogLevel::quiet; }

// Replaces the destination of log lines (nullptr restores stderr). The sink gets whole lines
// without a trailing newline and is called under the logger's lock.
using LogSink = std::function<void(LogLevel, std::string_view)>;
void set_log_sink(LogSink sink);

void log_message(LogLevel level, std::string_view message);

// Writes text to stderr and flushes, ignoring failures: a closed or full stderr (a pipe into
// `head`, a full log disk) must never abort the work being logged.
void write_stderr(std::string_view text) noexcept;

// "YYYY-MM-DDTHH:MM:SSZ" of `seconds` since 1970 (UTC) into out[0..20), with a NUL after it. Async-signal-safe
// (no locale, lock or allocation), as gmtime and strftime are not.
void format_utc_time(int64_t seconds, char (&out)[21]) noexcept;

// What starts every log line: the stamp KFOLD_LOG_TIME=1 asks for, "2026-12-05T10:00:01Z " (the time now), then
// KFOLD_LOG_TAG's text as "[cuda:1] " (a worker's name in a log several workers share: printable ASCII, at most
// kMaxLogTag characters); "" without either. Async-signal-safe once called from a thread before
// (install_interrupt_handlers does: the variables are read by the first call).
inline constexpr size_t kMaxLogTag = 64;
inline constexpr size_t kLogPrefixSize = 21 + kMaxLogTag + 4;  // stamp and blank, "[" tag "] ", NUL
const char* log_line_prefix(char (&out)[kLogPrefixSize]) noexcept;

template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::debug)) log_message(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::info)) log_message(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::warn)) log_message(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::error)) log_message(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kfold

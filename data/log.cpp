// Levelled logger: one global level and sink guarded by a mutex; KFOLD_LOG_TIME=1 puts the UTC time before
// every line (a batch job's log file: when did that target start, how long did it wait), KFOLD_LOG_TAG a
// worker's name (several GPU workers of one job writing one log).
#include "data/log.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "data/header_text.hpp"

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

}  // namespace

void format_utc_time(int64_t seconds, char (&out)[21]) noexcept {
  // The civil date of a day count (days since 1970-01-01), in eras of 400 years that start on 1 March.
  const int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t second_of_day = seconds - days * 86400;
  const int64_t shifted = days + 719468;  // days since 0000-03-01
  const int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
  const int64_t day_of_era = shifted - era * 146097;  // 0..146096
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // from 1 Mar
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;                                        // 0..11
  const int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  const auto put = [&out](int at, int64_t value, int digits) {
    for (int k = digits - 1; k >= 0; --k, value /= 10) out[at + k] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  out[4] = '-';
  put(5, month, 2);
  out[7] = '-';
  put(8, day, 2);
  out[10] = 'T';
  put(11, second_of_day / 3600, 2);
  out[13] = ':';
  put(14, second_of_day / 60 % 60, 2);
  out[16] = ':';
  put(17, second_of_day % 60, 2);
  out[19] = 'Z';
  out[20] = '\0';
}

const char* log_line_prefix(char (&out)[kLogPrefixSize]) noexcept {
  static const bool timed = [] {
    const char* value = std::getenv("KFOLD_LOG_TIME");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  static const std::array<char, kMaxLogTag + 4> tag = [] {  // "[tag] " or ""
    std::array<char, kMaxLogTag + 4> text{};
    const char* value = std::getenv("KFOLD_LOG_TAG");
    if (value == nullptr || *value == '\0') return text;
    size_t n = 0;
    text[n++] = '[';
    for (; *value != '\0' && n <= kMaxLogTag; ++value) text[n++] = *value >= ' ' && *value <= '~' ? *value : '?';
    text[n++] = ']';
    text[n++] = ' ';
    return text;
  }();
  size_t n = 0;
  if (timed) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    char time[21];
    format_utc_time(now.tv_sec, time);
    std::memcpy(out, time, 20);
    out[20] = ' ';
    n = 21;
  }
  for (size_t k = 0; tag[k] != '\0'; ++k) out[n++] = tag[k];
  out[n] = '\0';
  return out;
}

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
  char prefix[kLogPrefixSize];
  if (level == LogLevel::info) {
    write_stderr(fmt::format("{}{}\n", log_line_prefix(prefix), message));
  } else {
    write_stderr(fmt::format("{}[{}] {}\n", log_line_prefix(prefix), level_tag(level), message));
  }
}

void write_stderr(std::string_view text) noexcept {
  // Ids and paths pass into messages byte for byte; a byte that is no UTF-8 goes out as \xNN so that the log
  // stays readable as UTF-8 (journald, Python, a browser showing a SLURM log).
  std::string escaped;
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    try {
      escaped = data::escaped_utf8_text(text);
      text = escaped;
    } catch (...) {  // out of memory: the bytes as they are
    }
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  std::clearerr(stderr);
}

}  // namespace kfold

// Tests for the levelled logger (levels, sink) and progress reporting (plain lines per 10%,
// exact counts under concurrent updates, the callback sink used by the Python module).
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "data/log.hpp"
#include "data/progress.hpp"

namespace {

// Captures log lines for the lifetime of the object and restores defaults afterwards.
struct CapturedLog {
  std::vector<std::pair<kfold::LogLevel, std::string>> lines;
  CapturedLog() {
    kfold::set_log_sink([this](kfold::LogLevel level, std::string_view text) { lines.emplace_back(level, text); });
  }
  ~CapturedLog() {
    kfold::set_log_sink(nullptr);
    kfold::set_log_level(kfold::LogLevel::info);
  }
};

}  // namespace

TEST_CASE("log: levels filter messages, the sink receives whole formatted lines") {
  CapturedLog log;
  kfold::set_log_level(kfold::LogLevel::warn);
  kfold::log_info("hidden {}", 1);
  kfold::log_warn("shown {} of {}", 2, 3);
  kfold::set_log_level(kfold::LogLevel::debug);
  kfold::log_debug("debug line");
  kfold::set_log_level(kfold::LogLevel::quiet);
  kfold::log_error("not even errors when quiet");
  REQUIRE(log.lines.size() == 2);
  CHECK(log.lines[0].first == kfold::LogLevel::warn);
  CHECK(log.lines[0].second == "shown 2 of 3");
  CHECK(log.lines[1].second == "debug line");
}

TEST_CASE("log: format_utc_time (the signal handler's stamp) equals gmtime and strftime") {
  // Leap days, century years (2100 is no leap year, 2000 is), the ends of days and years, and now.
  for (const int64_t seconds :
       {int64_t{0}, int64_t{86399}, int64_t{951782400}, int64_t{951868799}, int64_t{978307199}, int64_t{1709164800},
        int64_t{4107542399}, int64_t{4107542400}, int64_t{253402300799}, static_cast<int64_t>(std::time(nullptr))}) {
    CAPTURE(seconds);
    const std::time_t t = seconds;
    std::tm utc{};
    gmtime_r(&t, &utc);
    char expected[32] = {};
    std::strftime(expected, sizeof(expected), "%Y-%m-%dT%H:%M:%SZ", &utc);
    char text[21];
    kfold::format_utc_time(seconds, text);
    CHECK(std::string(text) == expected);
  }
}

TEST_CASE("Progress: without a terminal, one line per 10% and a final line with the total") {
  CapturedLog log;
  {
    kfold::Progress progress("aligning", 200);
    for (int i = 0; i < 200; ++i) progress.advance();
  }
  // Lines at 1 (0%), 20, 40, ..., 200 (10 deciles) and the final "took" line.
  REQUIRE(log.lines.size() == 12);
  CHECK(log.lines.front().second.rfind("aligning: 1/200 (0%), ETA", 0) == 0);
  CHECK(log.lines.back().second.rfind("aligning: 200/200 (100%), took", 0) == 0);
}

TEST_CASE("Progress: concurrent advances count exactly, a sink replaces rendering") {
  std::vector<int64_t> seen;
  int64_t last_total = 0;
  kfold::set_progress_sink([&](const std::string& label, int64_t done, int64_t total) {
    CHECK(label == "targets");
    seen.push_back(done);
    last_total = total;
  });
  {
    kfold::Progress progress("targets", 4000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) progress.advance();
      });
    for (auto& th : threads) th.join();
  }
  kfold::set_progress_sink(nullptr);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back() == 4000);
  CHECK(last_total == 4000);
  // Threads add before they take the lock: a sink never sees a count below one it saw (Python's bar closed and
  // opened a second one when the count went back).
  CHECK(std::is_sorted(seen.begin(), seen.end()));
}

// The `kfold` subcommands: each registers its options on the app and stores in `action` what to run after
// parsing. Actions throw kfold::Error; main() turns errors into exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "data/cpu_count.hpp"

namespace kfold::cli {

using Action = std::function<void()>;

// The most `--threads` a command accepts (0 = all cores): larger counts are typing errors.
using data::kMaxThreads;

// Checks a `--threads` value: a whole number from 0 (all cores) to kMaxThreads. (CLI11's Range said
// "Value abc not in range" of a word.)
inline CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc() && stop == end && value >= 0 && value <= kMaxThreads) return {};
        return "'" + text + "' is not a thread count; give a whole number from 0 (all CPUs) to " +
               std::to_string(kMaxThreads);
      },
      "INT in [0 - " + std::to_string(kMaxThreads) + "]");
}

// Each adds a subcommand whose callback stores in `action` what to run once parsing succeeded.
void add_features_command(CLI::App& app, Action& action);
void add_inspect_command(CLI::App& app, Action& action);
void add_db_command(CLI::App& app, Action& action);
void add_search_command(CLI::App& app, Action& action);
void add_predict_command(CLI::App& app, Action& action);
void add_agent_command(CLI::App& app, Action& action);
void add_batch_command(CLI::App& app, Action& action);
void add_relax_command(CLI::App& app, Action& action);

}  // namespace kfold::cli

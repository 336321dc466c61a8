// The `kfold` subcommands: each registers its options on the app and returns the action to
// run after parsing. Actions throw kfold::Error; main() turns errors into exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "data/cpu_count.hpp"

namespace kfold::cli {

using Action = std::function<void()>;

// The most `--threads` a command accepts (0 = all cores): larger counts are typing errors.
using data::kMaxThreads;

// Each adds a subcommand whose callback stores in `action` what to run once parsing succeeded.
void add_features_command(CLI::App& app, Action& action);
void add_inspect_command(CLI::App& app, Action& action);
void add_db_command(CLI::App& app, Action& action);
void add_search_command(CLI::App& app, Action& action);
void add_predict_command(CLI::App& app, Action& action);
void add_agent_command(CLI::App& app, Action& action);
void add_batch_command(CLI::App& app, Action& action);
void add_relax_command(CLI::App& app, Action& action);

// Text of `kfold --version`: version, git revision, torch, CUDA and OpenMP availability.
std::string version_text();

}  // namespace kfold::cli

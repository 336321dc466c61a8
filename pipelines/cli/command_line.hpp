// The `kfold` command line, shared by its two executables: bin/kfold, which runs the commands that need no
// libtorch itself (pipelines/cli/launcher_main.cpp), and libexec/kfold/kfold-torch, which runs them all
// (pipelines/cli/main.cpp). Parses the arguments, runs the chosen command, and maps errors to exit codes (0
// success, 1 runtime failure, 2 bad usage or input, 3/4 batch outcomes, 128 + a stopping signal; README "Exit
// codes"). Never lets an exception out.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/cli/commands.hpp"

namespace kfold::cli {

struct CommandLine {
  // Each adds one subcommand (commands.hpp).
  std::vector<void (*)(CLI::App&, Action&)> commands;
  // --version's text; null: no --version option.
  std::string (*version_text)() = nullptr;
  // The first line of an exception that is none of kfold's, std::filesystem's or the system's (a library's own
  // error type may carry more than its message); null: its what().
  std::string (*exception_text)(const std::exception&) = nullptr;
};

// The whole `kfold` process after main(): returns its exit code.
int run_command_line(int argc, char** argv, const CommandLine& command_line);

// Writes an error's closing lines to stderr, with KFOLD_LOG_TIME's stamp and KFOLD_LOG_TAG's tag as every log line
// has.
void write_error(std::string_view text) noexcept;

}  // namespace kfold::cli

// The message of a command-line parse error in kfold's words: CLI11's own ("A subcommand is required",
// "Could not convert: --recycles = abc", "The following arguments were not expected: --recycle 3") name
// neither the commands there are, nor what a value should be, nor the option the user meant.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kfold::cli {

// `app` is the top-level command after the failed parse, `args` the words after the program name.
std::string parse_error_text(const CLI::App& app, const CLI::ParseError& error, const std::vector<std::string>& args);

}  // namespace kfold::cli

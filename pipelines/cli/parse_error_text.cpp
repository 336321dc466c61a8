// Command-line parse errors in kfold's words (pipelines/cli/parse_error_text.hpp).
#include "pipelines/cli/parse_error_text.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string_view>

namespace kfold::cli {
namespace {

// Levenshtein distance of two short words.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The long option names of `command` (and of the commands above it: -q, -v fall through).
std::vector<std::string> long_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::App* app = &command; app != nullptr; app = app->get_parent())
    for (const CLI::Option* option : app->get_options())
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  return names;
}

// " (did you mean --recycles?)" for a word within two edits of an option, or a prefix of one; else "".
std::string suggestion(const CLI::App& command, std::string_view word) {
  const std::string_view name = word.substr(0, word.find('='));
  if (!name.starts_with("--") || name.size() < 4) return "";
  std::string best;
  size_t best_distance = 3;
  for (const std::string& candidate : long_names(command)) {
    const size_t d = candidate.starts_with(name) ? 1 : edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean {}?)", best);
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

// Whether `word` (-q, --verbose) is an option of `command` or above it that takes no value.
bool is_flag(const CLI::App& command, const std::string& word) {
  for (const CLI::App* app = &command; app != nullptr; app = app->get_parent())
    for (const CLI::Option* option : app->get_options())
      if (option->check_name(word)) return option->get_expected_max() == 0;
  return false;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : const_cast<CLI::App&>(app).get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

// "a whole number" for the integer options, "a number" for the others (CLI11's type names: INT, UINT, FLOAT).
std::string expected_value(const CLI::App& command, const std::string& option_name) {
  for (const CLI::App* app = &command; app != nullptr; app = app->get_parent())
    for (const CLI::Option* option : app->get_options())
      if (option->get_name() == option_name || option->check_name(option_name)) {
        const std::string& type = option->get_type_name();
        if (type.starts_with("INT") || type.starts_with("UINT")) return "a whole number";
        if (type.starts_with("FLOAT")) return "a number";
        return type.empty() ? "a value it takes" : "a value of type " + type;
      }
  return "another value";
}

// The deepest command the parse reached (kfold db): its options and commands are what the user could give.
const CLI::App& deepest_command(const CLI::App& app) {
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
  return *command;
}

// "kfold db create"
std::string command_path(const CLI::App& command) {
  std::string path = "kfold";
  std::vector<std::string> names;
  for (const CLI::App* app = &command; app->get_parent() != nullptr; app = app->get_parent())
    names.insert(names.begin(), app->get_name());
  for (const std::string& name : names) path += " " + name;
  return path;
}

// `command` needs a command and got none: the word after its own name that is neither an option nor an
// option's value is a command that does not exist (`kfold -o out predcit`: 'out' is the value of -o).
std::string missing_command_text(const CLI::App& command, const std::vector<std::string>& args) {
  auto word = command.get_parent() == nullptr ? args.begin() : std::find(args.begin(), args.end(), command.get_name());
  if (word != args.end() && command.get_parent() != nullptr) ++word;
  bool value_next = false;  // the word before was an option that may take a value
  for (; word != args.end(); ++word) {
    if (word->starts_with("-")) {
      // "--" ends the options, "-qv" joins flags (or "-oout" a value): no value follows either.
      const bool joined = !word->starts_with("--") && word->size() > 2;
      value_next = *word != "--" && !joined && word->find('=') == std::string::npos && !is_flag(command, *word);
      continue;
    }
    // A command's name is no option's value (`kfold --verbos predict`: the option is unknown, the word is not).
    const auto names = command_names(command);
    if (!value_next || std::find(names.begin(), names.end(), *word) != names.end()) break;
    value_next = false;
  }
  const std::string path = command_path(command);
  const std::string names = fmt::format("{}", fmt::join(command_names(command), ", "));
  if (word != args.end()) return fmt::format("unknown command '{}' for '{}'; the commands are {}", *word, path, names);
  return fmt::format("'{}' needs a command: one of {}", path, names);
}

}  // namespace

std::string parse_error_text(const CLI::App& app, const CLI::ParseError& error, const std::vector<std::string>& args) {
  const CLI::App& command = deepest_command(app);
  if (command.get_require_subcommand_min() > 0 && command.get_subcommands().empty() && !command_names(command).empty())
    return missing_command_text(command, args);
  const std::string what = error.what();
  if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
    // "Could not convert: --recycles = abc"
    constexpr std::string_view kPrefix = "Could not convert: ";
    if (const size_t equals = what.find(" = "); what.starts_with(kPrefix) && equals != std::string::npos) {
      const std::string option = what.substr(kPrefix.size(), equals - kPrefix.size());
      return fmt::format("{}: '{}' is not {}", option, what.substr(equals + 3), expected_value(command, option));
    }
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    // "The following arguments were not expected: 3 --recycle" (the words CLI11 could not place, in reverse).
    if (const size_t colon = what.find(": "); colon != std::string::npos)
      for (const std::string_view word : split_words(std::string_view(what).substr(colon + 2)))
        if (const std::string hint = suggestion(command, word); !hint.empty())
          return fmt::format("unknown option '{}'{}", word, hint);
  }
  return what;
}

}  // namespace kfold::cli

// One line of a CSV file split into its cells as spreadsheets and pandas write them (RFC 4180): cells
// separated by commas, a cell in double quotes may hold commas and "" for a quote, blanks around a cell
// are not part of it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::data {

// The cells of `line` (text after a closing quote joins its cell, as spreadsheets read it); nullopt when a quoted
// cell is not closed on the line.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line);

// A hint for a message about the columns of a line without commas: it has tabs (a tab-separated export) or
// semicolons (a spreadsheet in a locale that writes semicolon-separated files); "" otherwise.
std::string separator_hint(std::string_view line);

}  // namespace kfold::data

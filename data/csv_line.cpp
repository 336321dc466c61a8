// CSV lines split as spreadsheets write them (data/csv_line.hpp).
#include "data/csv_line.hpp"

#include "data/sequence.hpp"

namespace kfold::data {

std::optional<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string> cells;
  size_t i = 0;
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return std::nullopt;  // not closed
        if (line[i] != '"') {
          cell += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      // Text after the closing quote joins the cell, as spreadsheets read it: "value" (AU) is value (AU).
      const size_t comma = std::min(line.find(',', i), line.size());
      cell += line.substr(i, comma - i);
      while (!cell.empty() && is_space(cell.back())) cell.pop_back();
      i = comma;
    } else {
      const size_t comma = std::min(line.find(',', i), line.size());
      cell = line.substr(i, comma - i);
      while (!cell.empty() && is_space(cell.back())) cell.pop_back();
      i = comma;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) return cells;
    ++i;  // the comma
  }
}

std::string separator_hint(std::string_view line) {
  if (line.find(',') != std::string_view::npos) return "";
  if (line.find('\t') != std::string_view::npos)
    return " (the line has no comma but tabs: a tab-separated file, as a plate reader or a spreadsheet exports it; "
           "save it as comma-separated)";
  if (line.find(';') != std::string_view::npos)
    return " (the line has no comma but semicolons: a spreadsheet in a locale that writes semicolon-separated "
           "files; save it with commas)";
  return "";
}

}  // namespace kfold::data

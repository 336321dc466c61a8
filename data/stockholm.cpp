// Stockholm parsing with AlphaFold's parse_stockholm semantics; rules in data/stockholm.hpp.
#include "data/stockholm.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/error.hpp"
#include "data/host_memory.hpp"
#include "data/log.hpp"
#include "data/sequence.hpp"

namespace kfold::data {

namespace {

bool is_gap(char c) { return c == '-' || c == '.'; }

// Index of the first character at or after `from` that is (or is not) whitespace.
size_t skip(std::string_view line, size_t from, bool space) {
  while (from < line.size() && is_space(line[from]) == space) ++from;
  return from;
}

// One sequence of the alignment, all blocks joined: the raw aligned columns.
struct RawRow {
  std::string name;
  std::string columns;
  int64_t first_line = 0;
};

class StockholmParser {
 public:
  explicit StockholmParser(LineReader& reader) : reader_(reader), memory_(reader.source(), kReduceMsa) {}

  std::vector<RawRow> read_rows() {
    read_header();
    std::string_view line;
    while (reader_.next(line)) {
      const size_t start = skip(line, 0, true);
      if (start == line.size() || line[start] == '#') continue;
      if (line.substr(start).starts_with("//")) {
        terminated_ = true;
        // The alignment ends here; a second one after it (files concatenated) is not read, and said so.
        while (reader_.next(line))
          if (skip(line, 0, true) != line.size()) {
            log_warn(
                "{}:{}: content after the alignment's end ('//') is not read (a second alignment? give one "
                "alignment per file, several --msa files for several alignments)",
                reader_.source(), reader_.line_number());
            break;
          }
        break;
      }
      add_line(line, start);
    }
    if (rows_.empty()) fail_input("{}: no sequences in the Stockholm alignment", reader_.source());
    return std::move(rows_);
  }

  // Whether the alignment ended with '//' (Stockholm's last line; a file without it may be cut short).
  bool terminated() const { return terminated_; }

 private:
  void read_header() {
    std::string_view line;
    while (reader_.next(line)) {
      const size_t start = skip(line, 0, true);
      if (start == line.size()) continue;
      if (!line.substr(start).starts_with("# STOCKHOLM"))
        reader_.fail("missing '# STOCKHOLM 1.0' header: not a Stockholm alignment");
      return;
    }
    fail_input("{}: empty file, expected a Stockholm alignment ('# STOCKHOLM 1.0' header)", reader_.source());
  }

  // A "<name> <aligned residues>" line; `start` is where the name begins.
  void add_line(std::string_view line, size_t start) {
    const size_t name_end = skip(line, start, false);
    const size_t residues_start = skip(line, name_end, true);
    const size_t residues_end = skip(line, residues_start, false);
    if (residues_start == line.size() || skip(line, residues_end, true) != line.size())
      reader_.fail("expected '<name> <aligned sequence>' (two fields separated by whitespace)");
    const std::string_view name = line.substr(start, name_end - start);
    RawRow& row = row_for(name);
    for (size_t i = residues_start; i < residues_end; ++i) {
      const char c = line[i];
      if (!is_ascii_letter(c) && !is_gap(c))
        fail_input("{}:{}:{}: invalid character {} in Stockholm row '{}'; expected letters, '-' or '.'",
                   reader_.source(), reader_.line_number(), i + 1, char_for_message(c), row.name);
      row.columns.push_back(c);
    }
    // Its raw columns (which of them are the query's match columns, 5 bytes each in the MSA, is known only at the
    // end: the guard's "as much again" stands for them).
    memory_.add(static_cast<int64_t>(residues_end - residues_start), std::ssize(rows_));
  }

  RawRow& row_for(std::string_view name) {
    const auto [it, inserted] = index_.emplace(std::string(name), std::ssize(rows_));
    if (inserted) rows_.push_back(RawRow{std::string(name), {}, reader_.line_number()});
    return rows_[static_cast<size_t>(it->second)];
  }

  LineReader& reader_;
  std::vector<RawRow> rows_;
  std::unordered_map<std::string, int64_t> index_;  // name → position in rows_
  bool terminated_ = false;
  ReadMemoryGuard memory_;
};

// Appends one row to `msa`: the query's columns, the deletions before each and the dropped residues.
void add_aligned_row(Msa& msa, const RawRow& row, const std::vector<bool>& keep) {
  std::string aligned;
  std::vector<int32_t> deletions;
  std::string inserted;
  int32_t pending = 0;  // residues in dropped columns since the last kept column
  for (size_t c = 0; c < row.columns.size(); ++c) {
    const char residue = row.columns[c];
    if (keep[c]) {
      aligned.push_back(is_gap(residue) ? '-' : to_ascii_upper(residue));
      deletions.push_back(pending);
      pending = 0;
    } else if (!is_gap(residue)) {
      ++pending;
      inserted.push_back(to_ascii_lower(residue));
    }
  }
  msa.sequences.push_back(std::move(aligned));
  msa.deletion_matrix.push_back(std::move(deletions));
  msa.descriptions.push_back(row.name);
  msa.insertions.push_back(std::move(inserted));
}

// `hint` ends a row-length error (what may explain it).
Msa to_msa(const std::vector<RawRow>& rows, const std::string& source, std::string_view hint) {
  const RawRow& query = rows.front();
  std::vector<bool> keep(query.columns.size());
  bool any_kept = false;
  for (size_t c = 0; c < keep.size(); ++c) {
    keep[c] = !is_gap(query.columns[c]);
    any_kept = any_kept || keep[c];
  }
  if (!any_kept)
    fail_input("{}:{}: the query (first sequence '{}') has no residues", source, query.first_line, query.name);
  // What the rows become beside them: each match column a residue and its deletion count.
  const auto match_columns = static_cast<int64_t>(std::count(keep.begin(), keep.end(), true));
  check_host_memory(std::ssize(rows) * match_columns * static_cast<int64_t>(1 + sizeof(int32_t)),
                    fmt::format("{}: its {} rows as an MSA of {} columns", source, rows.size(), match_columns),
                    kReduceMsa);
  Msa msa;
  for (const RawRow& row : rows) {
    if (row.columns.size() != query.columns.size())
      fail_input("{}:{}: Stockholm row '{}' has {} columns, the query '{}' has {}{}", source, row.first_line, row.name,
                 row.columns.size(), query.name, query.columns.size(), hint);
    add_aligned_row(msa, row, keep);
  }
  return msa;
}

}  // namespace

Msa parse_stockholm(LineReader& reader) {
  StockholmParser parser(reader);
  const auto rows = parser.read_rows();
  if (parser.terminated()) return to_msa(rows, reader.source(), "");
  log_warn("{}: the Stockholm alignment does not end with '//': the file may be cut short (read as it is)",
           reader.source());
  return to_msa(rows, reader.source(), " (the file does not end with '//': cut short?)");
}

Msa read_stockholm(const std::filesystem::path& path) {
  LineReader reader(path);
  return parse_stockholm(reader);
}

Msa parse_stockholm_string(std::string text, std::string source_name) {
  LineReader reader = LineReader::from_string(std::move(text), std::move(source_name));
  return parse_stockholm(reader);
}

}  // namespace kfold::data

// A3M parsing (AlphaFold's parse_a3m plus checks) and writing; rules in data/a3m.hpp.
#include "data/a3m.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <numeric>
#include <string_view>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"
#include "data/host_memory.hpp"
#include "data/log.hpp"
#include "data/sequence.hpp"

namespace kfold::data {

namespace {

std::string_view trim_end(std::string_view text) {
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view trim_start(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  return text;
}

// How errors name a row: the first token of its header, else its 1-based position.
std::string row_name(std::string_view description, int64_t index) {
  size_t end = 0;
  while (end < description.size() && !is_space(description[end])) ++end;
  if (end == 0) return fmt::format("#{}", index + 1);
  return std::string(description.substr(0, end));
}

// A Stockholm line ("//", "#=GS ...", or a name, blanks and aligned residues): a file without Stockholm's
// first line ("# STOCKHOLM 1.0", which decides the format) reaches the A3M reader.
bool looks_like_stockholm(std::string_view line) {
  line = trim_end(line);
  if (line == "//" || line.starts_with("#=G")) return true;
  const size_t blank = line.find_first_of(" \t");
  if (blank == std::string_view::npos) return false;
  const size_t residues = line.find_first_not_of(" \t", blank);
  return residues != std::string_view::npos &&
         std::all_of(line.begin() + static_cast<std::ptrdiff_t>(residues), line.end(),
                     [](char c) { return is_ascii_letter(c) || c == '-' || c == '.'; });
}

class A3mParser {
 public:
  explicit A3mParser(LineReader& reader) : reader_(reader), memory_(reader.source(), kReduceMsa) {}

  Msa parse() {
    std::string_view line;
    bool seen_text = false;
    while (reader_.next(line)) {
      // Blanks before '>' or '#' are read past, as AlphaFold's parse_a3m strips each line.
      const std::string_view text = trim_start(line);
      if (!seen_text && !text.empty()) {  // ColabFold's header is the first line (a notebook's text may not be)
        seen_text = true;
        header_ = fmt::format("{}:{}", reader_.source(), reader_.line_number());
        msa_.chain_lengths = colabfold_chain_lengths(text, header_);
      }
      if (text.empty() || text.front() == '#') continue;
      if (text.front() == '>') {
        if (in_row_) finish_row();
        start_row(text.substr(1));
      } else if (in_row_) {
        add_line(line);
      } else {
        reader_.fail(
            fmt::format("missing A3M header: expected a line starting with '>' before the residues{}",
                        looks_like_stockholm(line)
                            ? " (this looks like a Stockholm alignment: add '# STOCKHOLM 1.0' as its first line)"
                            : ""));
      }
    }
    if (in_row_) finish_row();
    if (msa_.sequences.empty())
      fail_input("{}: no A3M records found (expected '>' header lines followed by aligned residues)", reader_.source());
    const auto& chains = msa_.chain_lengths;
    if (const int64_t total = std::accumulate(chains.begin(), chains.end(), int64_t{0});
        !chains.empty() && total != msa_.length())
      fail_input("{}: its ColabFold header declares chains of {} residues, {} in all; its query row has {} columns",
                 header_, fmt::join(chains, " + "), total, msa_.length());
    if (!annotations_.empty())
      log_warn("{}: {} HH-suite annotation record(s) ({}) are not sequences: left out of the MSA", reader_.source(),
               annotations_.size(), fmt::join(annotations_, ", "));
    return std::move(msa_);
  }

 private:
  bool is_query() const { return msa_.sequences.empty(); }

  void start_row(std::string_view header) {
    in_row_ = true;
    header_line_ = reader_.line_number();
    description_.assign(trim_end(header));
    annotation_ = is_hhsuite_annotation(description_);
    aligned_.clear();
    deletions_.clear();
    inserted_.clear();
    pending_ = 0;
    stop_line_ = 0;
  }

  void add_line(std::string_view line) {
    if (annotation_) return;  // digits, secondary-structure letters: no residues
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (is_space(c)) continue;
      if (stop_line_ > 0)  // a '*' (stop codon, as a translated sequence ends) only ends a row
        fail_input("{}:{}:{}: '*' (stop codon) in A3M row '{}' is allowed only at the end of the row", reader_.source(),
                   stop_line_, stop_column_, row_name(description_, msa_.depth()));
      if (c == '*') {
        stop_line_ = reader_.line_number();
        stop_column_ = static_cast<int64_t>(i) + 1;
      } else if (c == '.') {
        continue;
      } else if (is_ascii_lower(c)) {
        if (is_query())
          fail_at(i, fmt::format("the query (first record) has an insertion {}; its residues must "
                                 "all be match columns (uppercase)",
                                 char_for_message(c)));
        ++pending_;
        inserted_.push_back(c);
      } else if (is_ascii_upper(c) || c == '-') {
        aligned_.push_back(c);
        deletions_.push_back(pending_);
        pending_ = 0;
      } else {
        fail_at(i, fmt::format("invalid character {} in A3M row '{}'; expected letters, '-' or '.'",
                               char_for_message(c), row_name(description_, msa_.depth())));
      }
    }
  }

  [[noreturn]] void fail_at(size_t index, const std::string& message) const {
    fail_input("{}:{}:{}: {}", reader_.source(), reader_.line_number(), index + 1, message);
  }

  void finish_row() {
    const std::string name = row_name(description_, msa_.depth());
    in_row_ = false;
    if (annotation_) {
      annotations_.push_back(name);
      return;
    }
    if (is_query() && aligned_.empty())
      fail_input("{}:{}: the query (first record '{}') has no residues", reader_.source(), header_line_, name);
    if (!is_query() && aligned_.size() != msa_.sequences.front().size())
      fail_input("{}:{}: A3M row '{}' has {} match columns (uppercase letters and '-'), the query has {}",
                 reader_.source(), header_line_, name, aligned_.size(), msa_.sequences.front().size());
    memory_.add(static_cast<int64_t>(aligned_.size() * (1 + sizeof(int32_t)) + inserted_.size() + description_.size() +
                                     128),  // + the four containers' headers
                msa_.depth() + 1);
    msa_.sequences.push_back(std::move(aligned_));
    msa_.deletion_matrix.push_back(std::move(deletions_));
    msa_.descriptions.push_back(std::move(description_));
    msa_.insertions.push_back(std::move(inserted_));
  }

  LineReader& reader_;
  Msa msa_;
  std::string header_;  // "file:line" of the first line with text (ColabFold's complex header, if it is one)
  bool in_row_ = false;
  bool annotation_ = false;               // the row being read is an HH-suite annotation
  std::vector<std::string> annotations_;  // the names of those left out
  int64_t header_line_ = 0;
  std::string description_;         // of the row being read
  std::string aligned_;             // its match columns so far
  std::vector<int32_t> deletions_;  // deletion count before each match column
  std::string inserted_;            // its lowercase letters
  int32_t pending_ = 0;             // lowercase letters since the last match column
  int64_t stop_line_ = 0;           // line and column of a '*' read in this row (0: none)
  int64_t stop_column_ = 0;
  ReadMemoryGuard memory_;
};

// Throws InputError unless `msa` has the shape and alphabet an A3M file can hold.
void check_writable(const Msa& msa) {
  const int64_t depth = msa.depth();
  const int64_t length = msa.length();
  if (depth == 0 || length == 0) fail_input("A3M output: the MSA is empty (no rows or no columns)");
  if (std::ssize(msa.deletion_matrix) != depth || std::ssize(msa.descriptions) != depth)
    fail_input("A3M output: the MSA has {} rows but {} deletion-matrix rows and {} descriptions", depth,
               msa.deletion_matrix.size(), msa.descriptions.size());
  for (int64_t i = 0; i < depth; ++i) {
    const std::string name = row_name(msa.descriptions[i], i);
    if (std::ssize(msa.sequences[i]) != length || std::ssize(msa.deletion_matrix[i]) != length)
      fail_input("A3M output: row '{}' has {} columns and {} deletion counts, the query has {} columns", name,
                 msa.sequences[i].size(), msa.deletion_matrix[i].size(), length);
    for (const char c : msa.sequences[i])
      if (!is_ascii_upper(c) && c != '-')
        fail_input("A3M output: row '{}' contains {}; expected uppercase letters and '-'", name, char_for_message(c));
    for (const int32_t count : msa.deletion_matrix[i]) {
      if (count < 0) fail_input("A3M output: row '{}' has a negative deletion count", name);
      if (count > 0 && i == 0) fail_input("A3M output: the query row '{}' has deletions", name);
    }
    if (msa.descriptions[i].find_first_of("\r\n") != std::string::npos)
      fail_input("A3M output: description of row '{}' contains a line break", name);
  }
}

// The inserted letters of row i when Msa::insertions can supply every counted deletion, else null
// (always null for the query, which has none).
const std::string* usable_insertions(const Msa& msa, int64_t i) {
  if (i == 0 || std::ssize(msa.insertions) != msa.depth()) return nullptr;
  const std::string& inserted = msa.insertions[i];
  const auto& counts = msa.deletion_matrix[i];
  const int64_t needed = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  if (std::ssize(inserted) < needed) return nullptr;
  for (const char c : inserted)
    if (!is_ascii_letter(c)) return nullptr;
  return &inserted;
}

// Appends row i with its insertions as lowercase letters (or 'x' when they are not known).
void append_row(std::string& text, const Msa& msa, int64_t i) {
  const std::string* inserted = usable_insertions(msa, i);
  const std::string& aligned = msa.sequences[i];
  size_t next = 0;  // next letter of *inserted
  for (size_t j = 0; j < aligned.size(); ++j) {
    for (int32_t k = 0; k < msa.deletion_matrix[i][j]; ++k)
      text += inserted ? to_ascii_lower((*inserted)[next++]) : 'x';
    text += aligned[j];
  }
  if (inserted)
    for (; next < inserted->size(); ++next) text += to_ascii_lower((*inserted)[next]);
}

}  // namespace

bool is_hhsuite_annotation(std::string_view description) {
  const std::string name = row_name(description, 0);
  return name == "ss_dssp" || name == "sa_dssp" || name == "ss_pred" || name == "ss_conf" || name == "Consensus" ||
         (name.size() > 10 && name.ends_with("_consensus"));
}

std::vector<int64_t> colabfold_chain_lengths(std::string_view line, const std::string& where) {
  if (line.size() < 2 || line[0] != '#' || !(std::isdigit(static_cast<unsigned char>(line[1])) || line[1] == '-'))
    return {};
  line.remove_prefix(1);
  const std::string_view header = trim_end(line);
  const auto bad = [&](std::string_view what) {
    fail_input(
        "{}: '#{}' is no ColabFold complex header ({}): expected the chains' lengths, a tab and their copy numbers, "
        "e.g. '#40,36<TAB>1,1' (a monomer: '#76<TAB>1'; or remove the line)",
        where, header, what);
  };
  const auto numbers = [&](std::string_view text) {
    std::vector<int64_t> values;
    for (size_t start = 0; start <= text.size();) {
      const size_t end = std::min(text.find(',', start), text.size());
      int64_t value = 0;
      const auto [ptr, error] = std::from_chars(text.data() + start, text.data() + end, value);
      // (bounded: their sum, compared with the query's length, must not overflow)
      if (error != std::errc() || ptr != text.data() + end || value < 1 || value > (int64_t{1} << 31))
        bad(fmt::format("'{}' is not a number from 1 to 2^31", text.substr(start, end - start)));
      values.push_back(value);
      start = end + 1;
    }
    return values;
  };
  const size_t blank = header.find_first_of(" \t");
  if (blank == std::string_view::npos) bad("no copy numbers after the lengths");
  const std::vector<int64_t> lengths = numbers(header.substr(0, blank));
  const std::vector<int64_t> copies = numbers(header.substr(header.find_first_not_of(" \t", blank)));
  if (lengths.size() != copies.size())
    bad(fmt::format("{} length(s) and {} copy number(s)", lengths.size(), copies.size()));
  for (size_t k = 0; k < copies.size(); ++k)
    if (copies[k] != 1) {
      // Its columns are one copy of each chain: read so (a monomer when it has one chain), and said.
      log_warn(
          "{}: a ColabFold A3M of a homo-oligomer ({} copies of chain {}, its header '#{}'): read as one copy of "
          "each chain (kfold predicts no copies; for the complex, give features with asym_id: --features, Python "
          "kfold.Features.from_dict)",
          where, copies[k], k + 1, header);
      break;
    }
  if (lengths.size() < 2) return {};
  return lengths;
}

Msa parse_a3m(LineReader& reader) { return A3mParser(reader).parse(); }

Msa read_a3m(const std::filesystem::path& path) {
  LineReader reader(path);
  return parse_a3m(reader);
}

Msa parse_a3m_string(std::string text, std::string source_name) {
  LineReader reader = LineReader::from_string(std::move(text), std::move(source_name));
  return parse_a3m(reader);
}

std::string to_a3m(const Msa& msa) {
  check_writable(msa);
  if (!msa.insertions.empty() && std::ssize(msa.insertions) != msa.depth())
    log_warn("A3M output: the MSA has {} rows but {} insertion strings; writing 'x' for inserted residues", msa.depth(),
             msa.insertions.size());
  std::string text;
  if (!msa.chain_lengths.empty())  // ColabFold's complex header: the chains, one copy each
    text += fmt::format("#{}\t{}\n", fmt::join(msa.chain_lengths, ","),
                        fmt::join(std::vector<int>(msa.chain_lengths.size(), 1), ","));
  for (int64_t i = 0; i < msa.depth(); ++i) {
    // The id (first token) with '_' where a reader would split it, the rest with spaces.
    const std::string_view header = msa.descriptions[i];
    size_t id_end = 0;
    while (id_end < header.size() && !is_space(header[id_end])) ++id_end;
    text += '>';
    text += portable_header_text(header.substr(0, id_end), '_');
    text += portable_header_text(header.substr(id_end));
    text += '\n';
    append_row(text, msa, i);
    text += '\n';
  }
  return text;
}

void write_a3m(const std::filesystem::path& path, const Msa& msa) { write_file_atomic(path, to_a3m(msa)); }

}  // namespace kfold::data

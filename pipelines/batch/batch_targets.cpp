// Batch inputs (pipelines/batch/batch_targets.hpp): folder of FASTA files, multi-FASTA, CSV; shards.
#include "pipelines/batch/batch_targets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <utility>

#include "data/case_insensitive.hpp"
#include "data/csv_line.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/log.hpp"
#include "data/sequence.hpp"
#include "data/text_input.hpp"
#include "pipelines/predict/target_id.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

// Appends the residues of `text` (from column first_column + 1 of line `where` on) to `target`, uppercased,
// without whitespace; a bad character (or a '*' before the end) becomes the target's problem instead of
// an error, so the batch goes on. `stop_at`: "file:line:column" of a '*' read last (a record's lines share it).
void append_residues(std::string_view text, const std::string& where, size_t first_column, BatchTarget& target,
                     std::string& stop_at) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const size_t column = first_column + i + 1;
    if (data::is_space(c)) continue;
    if (!target.problem.empty()) return;
    if (!target.sequence.empty() && target.sequence.back() == '*') {
      target.problem = fmt::format("{}: {}", stop_at, data::internal_stop_text(target.id));
    } else if (data::is_ascii_letter(c) || c == '*') {
      target.sequence += data::to_ascii_upper(c);  // a '*' stays only at the very end: checked in finish()
      if (c == '*') stop_at = fmt::format("{}:{}", where, column);
    } else {
      target.problem = fmt::format("{}:{}: {}", where, column, data::invalid_residue_text(c, target.id));
    }
  }
}

void finish(BatchTarget& target) {
  if (!target.problem.empty()) target.sequence.clear();  // a partial sequence would be reported as the target's
  if (!target.sequence.empty() && target.sequence.back() == '*') target.sequence.pop_back();
  if (target.problem.empty() && target.sequence.empty()) target.problem = target.source + ": no residues";
}

// Every record of a FASTA file; ids are the first word of each header.
std::vector<BatchTarget> read_fasta_records(const fs::path& path) {
  data::LineReader reader(path);
  std::vector<BatchTarget> targets;
  std::string stop_at;
  std::string_view line;
  while (reader.next(line)) {
    const std::string where = fmt::format("{}:{}", reader.source(), reader.line_number());
    if (!line.empty() && line.front() == '>') {
      if (!targets.empty()) finish(targets.back());
      const auto [id, description] = data::split_fasta_header(line.substr(1));
      if (id.empty()) reader.fail("FASTA header without an id (write '>name' before the residues)");
      targets.push_back({std::string(id), "", where, "", std::string(description)});
    } else if (!data::trim_spaces(line).empty()) {
      if (targets.empty()) reader.fail("residues before the first '>' header (is this a FASTA file?)");
      append_residues(line, where, 0, targets.back(), stop_at);
    }
  }
  if (!targets.empty()) finish(targets.back());
  return targets;
}

// True for a header row's sequence cell: "sequence" or "seq", any case.
bool is_sequence_heading(std::string_view cell) {
  std::string lower(cell);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return data::to_ascii_lower(c); });
  return lower == "sequence" || lower == "seq";
}

// A CSV of `id,sequence` rows, with or without a header line (first row, second cell "sequence" or "seq").
std::vector<BatchTarget> read_csv(const fs::path& path) {
  data::LineReader reader(path);
  std::vector<BatchTarget> targets;
  std::string_view line;
  bool first_row = true;
  while (reader.next(line)) {
    if (data::trim_spaces(line).empty()) continue;
    // Cells as spreadsheets and pandas write them (quoted or not); an unclosed quote is an error (it named a
    // target '"x').
    const auto cells = data::split_csv_line(line);
    if (!cells)
      reader.fail("a quoted cell is not closed on the line; close its '\"' (or remove it: an id needs no quotes)");
    if (cells->size() != 2 || (*cells)[0].find(',') != std::string::npos)
      reader.fail(fmt::format("expected two fields 'id,sequence', got {} (an id cannot hold a comma, quoted or not){}",
                              std::count(line.begin(), line.end(), ',') + 1, data::separator_hint(line)));
    const std::string_view id = (*cells)[0];
    const std::string_view sequence = (*cells)[1];
    if (std::exchange(first_row, false)) {
      if (is_sequence_heading(sequence)) continue;  // header
      // A header of other columns would run as a target (or, swapped, every row's id as its sequence).
      if (is_sequence_heading(id))
        reader.fail("the header names 'sequence' first: the columns are 'id,sequence' (swap them)");
      // Header-like: column names, not a target (a typo in the first target's residues stays that target's
      // failure, as in any other row).
      const auto lower = [](std::string_view cell) {
        std::string out(cell);
        std::transform(out.begin(), out.end(), out.begin(), [](char c) { return data::to_ascii_lower(c); });
        return out;
      };
      const std::string first_cell = lower(id), second_cell = lower(sequence);
      const bool header_like = second_cell.find_first_of("_ ") != std::string::npos || first_cell == "id" ||
                               first_cell == "name" || first_cell == "target" || first_cell == "target_id" ||
                               first_cell == "identifier";
      if (header_like)
        reader.fail(
            fmt::format("'{},{}' is neither a target nor the header 'id,sequence'; write the header as "
                        "'id,sequence'",
                        id, sequence));
    }
    const std::string where = fmt::format("{}:{}", reader.source(), reader.line_number());
    if (id.empty()) reader.fail("empty id (every row needs 'id,sequence')");
    BatchTarget target{std::string(id), "", where, "", ""};
    std::string stop_at;
    // Columns of its residues on the line: the last cell ends the line but for blanks and a closing quote.
    const size_t at = line.rfind(sequence);
    append_residues(sequence, where, at == std::string_view::npos ? 0 : at, target, stop_at);
    finish(target);
    targets.push_back(std::move(target));
  }
  return targets;
}

// The length of a FASTA file name's extension (".fasta", ".fa", ".faa", ".fas", any case, optionally
// followed by ".gz"), or 0 when it has none of them.
size_t fasta_extension_length(const fs::path& path) {
  auto name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return data::to_ascii_lower(c); });
  size_t gz = 0;
  if (name.size() > 3 && name.ends_with(".gz")) gz = 3;
  name.resize(name.size() - gz);
  for (const std::string_view ext : {".fasta", ".fa", ".faa", ".fas"})
    if (name.size() > ext.size() && name.ends_with(ext)) return ext.size() + gz;
  return 0;
}

bool is_fasta_name(const fs::path& path) { return fasta_extension_length(path) > 0; }

// A folder of FASTA files: one target per file, named after the file without its FASTA (and .gz)
// extension.
std::vector<BatchTarget> read_folder(const fs::path& dir) {
  std::vector<fs::path> files;
  std::vector<std::string> other;  // files not read: said once (a target named x.txt was lost without a word)
  for (const auto& entry : fs::directory_iterator(dir)) {
    // Hidden files are skipped as ls does: macOS's ._x.fasta (AppleDouble metadata, binary) stopped the batch.
    if (entry.path().filename().string().starts_with('.')) continue;
    if (!is_fasta_name(entry.path())) {
      other.push_back(entry.path().filename().string());
      continue;
    }
    // A FASTA name that is not a readable file (a broken link, a folder) would be a target silently lost.
    if (!entry.is_regular_file())
      fail_input("{}: not a readable file (a broken link or a folder?); fix or remove it", entry.path().string());
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (!other.empty())
    log_warn(
        "{}: {} entr{} without a FASTA name (.fasta, .fa, .faa, .fas, any case, optionally .gz) not read, e.g. "
        "'{}'; rename what holds a target",
        dir.string(), other.size(), other.size() == 1 ? "y" : "ies", *std::min_element(other.begin(), other.end()));
  std::vector<BatchTarget> targets;
  for (const auto& file : files) {
    auto records = read_fasta_records(file);
    auto stem = file.filename().string();  // "trp.v2.fasta.gz" -> "trp.v2"
    stem.resize(stem.size() - fasta_extension_length(file));
    if (records.empty()) fail_input("{}: no FASTA record (remove the file or add '>name' and residues)", file.string());
    BatchTarget target = std::move(records.front());
    target.id = stem;
    if (records.size() > 1)
      target.problem = fmt::format("{}: holds {} sequences; a folder input takes one target per file", file.string(),
                                   records.size());
    targets.push_back(std::move(target));
  }
  return targets;
}

// targets.csv or targets.csv.gz (LineReader reads gzip), or a file of another name (targets.txt, .tsv) whose first
// line with text is no FASTA header but has a comma (it was read as FASTA: "residues before the first '>' header");
// a pipe is read once, as its name says.
bool looks_like_csv(const fs::path& input) {
  std::string name = input.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return data::to_ascii_lower(c); });
  if (name.ends_with(".csv") || name.ends_with(".csv.gz")) return true;
  if (std::error_code error; !fs::is_regular_file(input, error) || is_fasta_name(input)) return false;
  data::LineReader reader(input);
  std::string_view line;
  while (reader.next(line)) {
    line = data::trim_spaces(line);
    if (!line.empty()) return line.front() != '>' && line.front() != ';' && line.find(',') != std::string_view::npos;
  }
  return false;
}

}  // namespace

std::vector<BatchTarget> read_batch_targets(const fs::path& input) {
  std::vector<BatchTarget> targets;
  if (fs::is_directory(input)) {
    targets = read_folder(input);
  } else {
    data::check_input_file(input);
    targets = looks_like_csv(input) ? read_csv(input) : read_fasta_records(input);
  }
  if (targets.empty())
    fail_input("{}: no targets (expected FASTA files, a multi-FASTA, or a CSV of 'id,sequence' rows)", input.string());
  std::map<std::string, std::string> seen;  // output id -> source
  for (auto& target : targets) {
    const auto id = target_id_from(target.id);
    if (id == "summary.tsv")
      fail_input("{}: id '{}' is the name of the batch's own summary file DIR/summary.tsv; rename the target",
                 target.source, id);
    // Refused here, before any work: later it would stop every worker of every shard at its first summary.
    if (id.size() > kMaxTargetIdLength)
      fail_input("{}: id '{}...' is {} characters long, at most {} (it names the folder DIR/<id>/); shorten it",
                 target.source, id.substr(0, 40), id.size(), kMaxTargetIdLength);
    const auto [it, inserted] = seen.emplace(id, target.source);
    if (!inserted)
      fail_input("{}: id '{}' again (first at {}); every target needs its own output folder DIR/<id>/", target.source,
                 id, it->second);
    target.id = id;
  }
  return targets;
}

void check_case_distinct_ids(const std::vector<BatchTarget>& targets, const fs::path& output_dir) {
  std::vector<std::string> ids;
  for (const auto& target : targets) ids.push_back(target.id);
  const auto pair = data::first_case_only_pair(ids);
  if (!pair || !data::folder_ignores_case(output_dir)) return;  // (SOX2 and Sox2 are two folders elsewhere)
  const BatchTarget& a = targets[pair->first];
  const BatchTarget& b = targets[pair->second];
  fail_input(
      "{}: id '{}' differs from '{}' (at {}) in letter case only, and {} is on a file system that ignores case "
      "(macOS, a Windows or SMB share): their folders DIR/<id>/ would be one; rename one, or write to another "
      "file system",
      b.source, b.id, a.id, a.source, output_dir.string());
}

std::pair<int64_t, int64_t> parse_shard(const std::string& text, const std::string& what) {
  int64_t index = -1, count = 0;
  char slash = 0;
  char extra = 0;
  // N is bounded: shard_targets keeps one load per shard (N = 10^19 overflowed, N = 10^9 took gigabytes).
  constexpr int64_t kMaxShards = 1'000'000;
  if (std::sscanf(text.c_str(), "%ld %c %ld %c", &index, &slash, &count, &extra) != 3 || slash != '/' || count < 1 ||
      count > kMaxShards || index < 0 || index >= count)
    fail_input("{} '{}': expected I/N with 0 <= I < N <= {} (e.g. --shard 3/100)", what, text, kMaxShards);
  return {index, count};
}

std::vector<int64_t> target_shards(const std::vector<BatchTarget>& targets, int64_t count) {
  std::vector<int64_t> order(targets.size());
  std::iota(order.begin(), order.end(), 0);
  const auto length = [&](int64_t i) { return static_cast<int64_t>(targets[i].sequence.size()); };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return length(a) != length(b) ? length(a) > length(b) : targets[a].id < targets[b].id;
  });
  std::vector<double> load(static_cast<size_t>(count), 0.0);
  std::vector<int64_t> shards(targets.size());
  for (const int64_t i : order) {
    const auto shard = std::min_element(load.begin(), load.end()) - load.begin();
    load[shard] += std::max(1.0, static_cast<double>(length(i)) * static_cast<double>(length(i)));
    shards[static_cast<size_t>(i)] = shard;
  }
  return shards;
}

std::vector<int64_t> shard_targets(const std::vector<BatchTarget>& targets, int64_t index, int64_t count) {
  const auto shards = target_shards(targets, count);
  std::vector<int64_t> mine;
  for (size_t i = 0; i < shards.size(); ++i)
    if (shards[i] == index) mine.push_back(static_cast<int64_t>(i));
  const auto length = [&](int64_t i) { return static_cast<int64_t>(targets[i].sequence.size()); };
  std::sort(mine.begin(), mine.end(), [&](int64_t a, int64_t b) {
    return length(a) != length(b) ? length(a) < length(b) : targets[a].id < targets[b].id;
  });
  return mine;
}

}  // namespace kfold::pipelines

// FASTA reading (streaming over LineReader) and atomic writing; rules in data/fasta.hpp.
#include "data/fasta.hpp"

#include <fmt/format.h>

#include <unordered_map>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"

namespace kfold::data {

namespace {

bool is_blank(std::string_view line) { return trim_spaces(line).empty(); }

// Splits a header (without '>') into id and description.
void parse_header(std::string_view header, Sequence& sequence) {
  const auto [id, description] = split_fasta_header(header);
  sequence.id.assign(id);
  sequence.description.assign(description);
}

std::vector<Sequence> read_all(FastaReader& reader, const FastaReadOptions& options) {
  std::vector<Sequence> sequences;
  std::unordered_map<std::string, int64_t> first_line;  // id → header line
  Sequence sequence;
  while (reader.next(sequence)) {
    if (options.unique_ids) {
      const auto [it, inserted] = first_line.emplace(sequence.id, reader.record_line());
      if (!inserted)
        fail_input("{}:{}: duplicate id '{}' (first seen at line {})", reader.source(), reader.record_line(),
                   sequence.id, it->second);
    }
    sequences.push_back(std::move(sequence));
  }
  if (sequences.empty())
    fail_input("{}: no FASTA records found (expected '>id' header lines followed by residues)", reader.source());
  return sequences;
}

void check_writable(const Sequence& sequence, int64_t index) {
  const auto has_space = [](std::string_view s) {  // a no-break space ends an id too (split_fasta_header)
    for (const char c : s)
      if (is_space(c) || c == '\n') return true;
    return s.find("\xc2\xa0") != std::string_view::npos;
  };
  if (sequence.id.empty() || has_space(sequence.id))
    fail_input("FASTA output: sequence {} has id '{}'; an id must be non-empty without whitespace", index, sequence.id);
  if (sequence.description.find_first_of("\r\n") != std::string::npos)
    fail_input("FASTA output: description of '{}' contains a line break", sequence.id);
  if (sequence.residues.empty()) fail_input("FASTA output: sequence '{}' has no residues", sequence.id);
  for (const char c : sequence.residues)
    if (!is_ascii_letter(c))
      fail_input("FASTA output: sequence '{}' contains {}; expected amino-acid letters", sequence.id,
                 char_for_message(c));
}

}  // namespace

std::pair<std::string_view, std::string_view> split_fasta_header(std::string_view header) {
  header = trim_spaces(header);
  while (header.starts_with("\xc2\xa0")) header = trim_spaces(header.substr(2));  // ("> \xc2\xa0P1": id P1)
  size_t end = 0;
  // A no-break space (UTF-8 C2 A0, a header pasted from a web page) ends the id as a blank does.
  while (end < header.size() && !is_space(header[end]) && header.substr(end, 2) != "\xc2\xa0") ++end;
  std::string_view rest = trim_spaces(header.substr(end));
  while (rest.starts_with("\xc2\xa0")) rest = trim_spaces(rest.substr(2));
  return {header.substr(0, end), rest};
}

std::string invalid_residue_text(char c, std::string_view id) {
  return fmt::format(
      "invalid character {} in sequence '{}'; expected amino-acid letters (the 20 standard ones, X, B, Z, U, O, J){}",
      char_for_message(c), id,
      c == ':'               ? " (ColabFold's chain separator: for a complex, join the chains without it in one "
                               "record and give the ColabFold complex A3M, whose first line says the chains' "
                               "lengths, as its MSA: kfold predict --msa, kfold batch --msa-dir DIR (DIR/<id>.a3m), "
                               "Python msas=; or features with asym_id)"
      : c == '-' || c == '.' ? " (an alignment gap: is this an aligned row, of an A3M/A2M or aligned FASTA? "
                               "give the sequence without gaps: remove its '-' and '.')"
                             : "");
}

std::string internal_stop_text(std::string_view id) {
  return fmt::format("'*' (stop codon) in sequence '{}' is allowed only at the end of the sequence", id);
}

FastaReader::FastaReader(const std::filesystem::path& path) : reader_(path) {}

FastaReader::FastaReader(LineReader reader) : reader_(std::move(reader)) {}

bool FastaReader::read_header(int64_t& line_number, std::string& header) {
  if (pending_line_ > 0) {
    header = std::move(pending_header_);
    line_number = std::exchange(pending_line_, 0);
    return true;
  }
  std::string_view line;
  while (reader_.next(line)) {
    if (is_blank(line)) continue;
    if (line.front() != '>')
      reader_.fail("missing FASTA header: expected a line starting with '>' before the residues");
    header.assign(line);
    line_number = reader_.line_number();
    return true;
  }
  return false;
}

void FastaReader::append_residues(std::string_view line, Sequence& sequence) {
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_space(c)) continue;
    const auto column = static_cast<int64_t>(i) + 1;
    if (stop_line_ > 0 && database_) {  // the '*' before this residue was not the record's end
      if (internal_stops_++ == 0) first_internal_stop_ = fmt::format("{}:{}:{}", source(), stop_line_, stop_column_);
      sequence.residues.push_back('X');
      stop_line_ = 0;
    }
    if (stop_line_ > 0) fail_input("{}:{}:{}: {}", source(), stop_line_, stop_column_, internal_stop_text(sequence.id));
    if (c == '*') {
      stop_line_ = reader_.line_number();
      stop_column_ = column;
      continue;
    }
    if (!is_ascii_letter(c))
      fail_input("{}:{}:{}: {}", source(), reader_.line_number(), column, invalid_residue_text(c, sequence.id));
    sequence.residues.push_back(to_ascii_upper(c));
  }
}

bool FastaReader::next(Sequence& sequence) {
  while (next_record(sequence)) {
    if (!sequence.residues.empty()) return true;
    if (!database_) fail_input("{}:{}: FASTA record '{}' has no residues", source(), record_line_, sequence.id);
    if (empty_records_++ == 0) first_empty_record_ = fmt::format("{}:{} '{}'", source(), record_line_, sequence.id);
  }
  return false;
}

bool FastaReader::next_record(Sequence& sequence) {
  std::string header;
  if (!read_header(record_line_, header)) return false;
  parse_header(std::string_view(header).substr(1), sequence);
  if (sequence.id.empty())
    fail_input("{}:{}: empty FASTA header: expected '>id [description]'", source(), record_line_);
  sequence.residues.clear();
  stop_line_ = 0;
  std::string_view line;
  while (reader_.next(line)) {
    if (!line.empty() && line.front() == '>') {
      pending_header_.assign(line);
      pending_line_ = reader_.line_number();
      break;
    }
    append_residues(line, sequence);
  }
  return true;
}

std::vector<Sequence> read_fasta(const std::filesystem::path& path, const FastaReadOptions& options) {
  FastaReader reader(path);
  return read_all(reader, options);
}

std::vector<Sequence> parse_fasta(std::string text, std::string source_name, const FastaReadOptions& options) {
  FastaReader reader(LineReader::from_string(std::move(text), std::move(source_name)));
  return read_all(reader, options);
}

std::string to_fasta(const std::vector<Sequence>& sequences, int64_t line_width) {
  std::string text;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const Sequence& sequence = sequences[i];
    check_writable(sequence, static_cast<int64_t>(i));
    text += '>';
    text += portable_header_text(sequence.id, '_');
    std::string_view description = trim_spaces(sequence.description);
    while (description.starts_with("\xc2\xa0")) description = trim_spaces(description.substr(2));  // as read back
    if (!description.empty()) (text += ' ') += portable_header_text(description);
    text += '\n';
    const auto length = static_cast<int64_t>(sequence.residues.size());
    const int64_t width = line_width > 0 ? line_width : length;
    for (int64_t start = 0; start < length; start += width) {
      text.append(sequence.residues, static_cast<size_t>(start), static_cast<size_t>(width));
      text += '\n';
    }
  }
  return text;
}

void write_fasta(const std::filesystem::path& path, const std::vector<Sequence>& sequences, int64_t line_width) {
  write_file_atomic(path, to_fasta(sequences, line_width));
}

}  // namespace kfold::data

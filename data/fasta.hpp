// FASTA reading (streaming, plain or gzip) and writing for protein sequences.
//
// Rules: several records per file; blank lines ignored; whitespace inside residue lines removed; lowercase
// residues accepted and uppercased; one '*' (stop codon) at the very end of a record is dropped. Allowed
// letters: the 20 standard amino acids plus X, B, Z, U, O, J, which together are all of A-Z (kept as they
// are; data/sequence.hpp says how the model maps them). Errors (InputError, "file:line[:column]: ..."):
// text before the first '>' ("missing FASTA header"), a header without an id, a record without residues,
// '*' anywhere but at the end (databases may read it as X: read_as_database), and any other character
// (digits, '-', '.', punctuation).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/sequence.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

// A header line's text after '>' as (id, description): the id ends at the first blank or no-break space.
std::pair<std::string_view, std::string_view> split_fasta_header(std::string_view header);

// The words of the two residue errors, after "file:line:column: ", shared by every reader of query sequences
// (FastaReader, kfold batch's FASTA and CSV reader): a character that is no amino-acid letter in record `id`, and
// a '*' (stop codon) before its end.
std::string invalid_residue_text(char c, std::string_view id);
std::string internal_stop_text(std::string_view id);

// Reads one record at a time, so UniRef-sized (gzip) databases never sit in memory whole.
class FastaReader {
 public:
  explicit FastaReader(const std::filesystem::path& path);
  explicit FastaReader(LineReader reader);

  // Fills `sequence` with the next record; returns false at end of input. Throws InputError.
  bool next(Sequence& sequence);

  // Database mode, as MMseqs2 and jackhmmer read databases (queries keep the strict rules): a '*' inside
  // a sequence (translated ORFs, metagenomic sets) reads as X, counted by internal_stops() with the first
  // at first_internal_stop() ("file:line:column"); a record without residues is skipped, counted by
  // empty_records() with the first at first_empty_record() ("file:line 'id'").
  void read_as_database() { database_ = true; }
  int64_t internal_stops() const { return internal_stops_; }
  const std::string& first_internal_stop() const { return first_internal_stop_; }
  int64_t empty_records() const { return empty_records_; }
  const std::string& first_empty_record() const { return first_empty_record_; }

  // Line of the header of the record last returned by next() (1-based).
  int64_t record_line() const { return record_line_; }
  const std::string& source() const { return reader_.source(); }

 private:
  bool next_record(Sequence& sequence);  // next() without the empty-record rule
  bool read_header(int64_t& line_number, std::string& header);
  void append_residues(std::string_view line, Sequence& sequence);

  LineReader reader_;
  std::string pending_header_;  // header line read while finishing the previous record
  int64_t pending_line_ = 0;    // its line number; 0 when there is none
  int64_t record_line_ = 0;
  int64_t stop_line_ = 0;  // position of a '*' seen in the current record (0: none)
  int64_t stop_column_ = 0;
  bool database_ = false;
  int64_t internal_stops_ = 0;
  std::string first_internal_stop_;
  int64_t empty_records_ = 0;
  std::string first_empty_record_;
};

struct FastaReadOptions {
  // Reject a second record with an id already seen ("duplicate id 'x' (first seen at line N)").
  // On by default: query files name output directories after their ids.
  bool unique_ids = true;
};

std::vector<Sequence> read_fasta(const std::filesystem::path& path, const FastaReadOptions& options = {});

// Parses in-memory FASTA text; `source_name` stands in for the file name in messages.
std::vector<Sequence> parse_fasta(std::string text, std::string source_name, const FastaReadOptions& options = {});

// FASTA text: ">id description" then the residues in lines of `line_width` letters (<= 0: one line).
// Throws InputError for an empty id or an id or description that would not read back the same.
std::string to_fasta(const std::vector<Sequence>& sequences, int64_t line_width = 80);

// Writes to_fasta(...) atomically (temporary file, then rename).
void write_fasta(const std::filesystem::path& path, const std::vector<Sequence>& sequences, int64_t line_width = 80);

}  // namespace kfold::data

// A family alignment (A2M or A3M) read focus-aware, as plmc/EVcouplings do: the first record is the
// focus (the wild type); its upper-case letters are the modelled columns, encoded as 21 states.
//
// Rules: records are '>' header lines and residue lines (joined, whitespace dropped). In every row,
// upper-case letters and '-' are match states, lower-case letters and '.' are insertions and are dropped.
// Every row must have as many match states as the focus. Of the match columns, those where the focus
// has an upper-case letter are kept (a '-' in the focus is no residue of the wild type, so its column
// is dropped, as plmc's focus mode does). Residue numbers: the focus header's first token may end in
// `/START-END` (`BLAT_ECOLX/24-286`): START is the number of the focus's first letter (upper or lower
// case); without it the first letter is residue 1. States: A C D E F G H I K L M N P Q R S T V W Y
// (0..19) and gap (20); any other letter (X, B, Z, ...) is read as a gap. Lines starting with '#' and
// blank lines are skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::pipelines::agent {

inline constexpr int64_t kStates = 21;  // 20 amino acids + gap
inline constexpr uint8_t kGapState = 20;
// State index of a residue letter (upper or lower case): 0..19, or kGapState for '-', '.' and
// anything that is not one of the 20 standard amino acids.
uint8_t residue_state(char c);
// Letter of a state (kAminoAcids order, '-' for the gap).
char state_letter(uint8_t state);

struct FamilyAlignment {
  std::string source;          // file name (for messages)
  std::string focus_id;        // first token of the focus header
  int64_t focus_start = 1;     // residue number of the focus's first letter
  std::string focus_residues;  // every letter of the focus, upper-cased: residues focus_start, focus_start+1, ...
  std::vector<int64_t> column_residue;  // residue number of each kept column [n_col]
  std::vector<uint8_t> states;          // [n_seq, n_col], row 0 is the focus
  int64_t n_seq = 0;
  int64_t n_col = 0;

  uint8_t state(int64_t seq, int64_t col) const { return states[static_cast<size_t>(seq * n_col + col)]; }
  const uint8_t* row(int64_t seq) const { return states.data() + seq * n_col; }
  // Column of a residue number, or -1 when that residue is not a kept column.
  int64_t column_of_residue(int64_t residue) const;
};

// Reads and encodes; throws InputError naming the file and line (no records, text before the first
// header, a focus without upper-case letters, a row whose match-state count differs from the focus's,
// a malformed /START-END).
FamilyAlignment read_family_alignment(const std::filesystem::path& path);
FamilyAlignment parse_family_alignment(std::string text, std::string source_name);

}  // namespace kfold::pipelines::agent

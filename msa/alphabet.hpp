// The search alphabet: residue letters to 21 scoring codes (the 20 amino acids in AlphaFold's restype
// order ARNDCQEGHILKMFPSTWYV, then X) and the BLOSUM62 matrix over them; gap penalties.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kfold::msa {

inline constexpr int64_t kAlphabetSize = 21;  // 20 amino acids + X
inline constexpr uint8_t kCodeX = 20;

// Letters map as HHblits and AlphaFold's MSA features do: B→D, Z→E, U→C; J, O, X and any other byte
// (lower case is folded to upper case) → X.
uint8_t residue_code(char letter);
// Appends the codes of `residues` to `codes` after clearing it.
void encode_residues(std::string_view residues, std::vector<uint8_t>& codes);
// The letter of a code (X for kCodeX).
char code_letter(uint8_t code);

using SubstitutionMatrix = std::array<std::array<int8_t, kAlphabetSize>, kAlphabetSize>;
// NCBI BLOSUM62 (half-bit units) over the 21 codes; X scores as NCBI's X row.
const SubstitutionMatrix& blosum62();

// Affine gaps as in BLAST: a gap of k residues costs open + k * extend (default 11 / 1).
struct GapPenalties {
  int32_t open = 11;
  int32_t extend = 1;
};
// Throws InputError unless 0 <= open <= 100 and 1 <= extend <= 100.
void check_gap_penalties(const GapPenalties& gaps);

}  // namespace kfold::msa

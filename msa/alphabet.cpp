// Residue codes and BLOSUM62 (the NCBI table, rows/columns ARNDCQEGHILKMFPSTWYV then X).
#include "msa/alphabet.hpp"

#include "data/error.hpp"

namespace kfold::msa {
namespace {

constexpr std::string_view kLetters = "ARNDCQEGHILKMFPSTWYVX";

constexpr std::array<uint8_t, 256> make_code_table() {
  std::array<uint8_t, 256> table{};
  for (auto& c : table) c = kCodeX;
  for (size_t i = 0; i < kLetters.size(); ++i) {
    table[static_cast<unsigned char>(kLetters[i])] = static_cast<uint8_t>(i);
    table[static_cast<unsigned char>(kLetters[i] - 'A' + 'a')] = static_cast<uint8_t>(i);
  }
  const auto alias = [&table](char from, char to) {
    table[static_cast<unsigned char>(from)] = table[static_cast<unsigned char>(to)];
    table[static_cast<unsigned char>(from - 'A' + 'a')] = table[static_cast<unsigned char>(to)];
  };
  alias('B', 'D');
  alias('Z', 'E');
  alias('U', 'C');
  return table;
}
constexpr std::array<uint8_t, 256> kCodeTable = make_code_table();

// clang-format off
constexpr SubstitutionMatrix kBlosum62 = {{
  //A   R   N   D   C   Q   E   G   H   I   L   K   M   F   P   S   T   W   Y   V   X
  { 4, -1, -2, -2,  0, -1, -1,  0, -2, -1, -1, -1, -1, -2, -1,  1,  0, -3, -2,  0,  0},  // A
  {-1,  5,  0, -2, -3,  1,  0, -2,  0, -3, -2,  2, -1, -3, -2, -1, -1, -3, -2, -3, -1},  // R
  {-2,  0,  6,  1, -3,  0,  0,  0,  1, -3, -3,  0, -2, -3, -2,  1,  0, -4, -2, -3, -1},  // N
  {-2, -2,  1,  6, -3,  0,  2, -1, -1, -3, -4, -1, -3, -3, -1,  0, -1, -4, -3, -3, -1},  // D
  { 0, -3, -3, -3,  9, -3, -4, -3, -3, -1, -1, -3, -1, -2, -3, -1, -1, -2, -2, -1, -2},  // C
  {-1,  1,  0,  0, -3,  5,  2, -2,  0, -3, -2,  1,  0, -3, -1,  0, -1, -2, -1, -2, -1},  // Q
  {-1,  0,  0,  2, -4,  2,  5, -2,  0, -3, -3,  1, -2, -3, -1,  0, -1, -3, -2, -2, -1},  // E
  { 0, -2,  0, -1, -3, -2, -2,  6, -2, -4, -4, -2, -3, -3, -2,  0, -2, -2, -3, -3, -1},  // G
  {-2,  0,  1, -1, -3,  0,  0, -2,  8, -3, -3, -1, -2, -1, -2, -1, -2, -2,  2, -3, -1},  // H
  {-1, -3, -3, -3, -1, -3, -3, -4, -3,  4,  2, -3,  1,  0, -3, -2, -1, -3, -1,  3, -1},  // I
  {-1, -2, -3, -4, -1, -2, -3, -4, -3,  2,  4, -2,  2,  0, -3, -2, -1, -2, -1,  1, -1},  // L
  {-1,  2,  0, -1, -3,  1,  1, -2, -1, -3, -2,  5, -1, -3, -1,  0, -1, -3, -2, -2, -1},  // K
  {-1, -1, -2, -3, -1,  0, -2, -3, -2,  1,  2, -1,  5,  0, -2, -1, -1, -1, -1,  1, -1},  // M
  {-2, -3, -3, -3, -2, -3, -3, -3, -1,  0,  0, -3,  0,  6, -4, -2, -2,  1,  3, -1, -1},  // F
  {-1, -2, -2, -1, -3, -1, -1, -2, -2, -3, -3, -1, -2, -4,  7, -1, -1, -4, -3, -2, -2},  // P
  { 1, -1,  1,  0, -1,  0,  0,  0, -1, -2, -2,  0, -1, -2, -1,  4,  1, -3, -2, -2,  0},  // S
  { 0, -1,  0, -1, -1, -1, -1, -2, -2, -1, -1, -1, -1, -2, -1,  1,  5, -2, -2,  0,  0},  // T
  {-3, -3, -4, -4, -2, -2, -3, -2, -2, -3, -2, -3, -1,  1, -4, -3, -2, 11,  2, -3, -2},  // W
  {-2, -2, -2, -3, -2, -1, -2, -3,  2, -1, -1, -2, -1,  3, -3, -2, -2,  2,  7, -1, -1},  // Y
  { 0, -3, -3, -3, -1, -2, -2, -3, -3,  3,  1, -2,  1, -1, -2, -2,  0, -3, -1,  4, -1},  // V
  { 0, -1, -1, -1, -2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -2,  0,  0, -2, -1, -1, -1},  // X
}};
// clang-format on

}  // namespace

uint8_t residue_code(char letter) { return kCodeTable[static_cast<unsigned char>(letter)]; }

void encode_residues(std::string_view residues, std::vector<uint8_t>& codes) {
  codes.resize(residues.size());
  for (size_t i = 0; i < residues.size(); ++i) codes[i] = kCodeTable[static_cast<unsigned char>(residues[i])];
}

char code_letter(uint8_t code) { return code < kLetters.size() ? kLetters[code] : 'X'; }

const SubstitutionMatrix& blosum62() { return kBlosum62; }

void check_gap_penalties(const GapPenalties& gaps) {
  if (gaps.open < 0 || gaps.open > 100)
    fail_input("--gap-open must be between 0 and 100 (got {}; BLAST's default is 11)", gaps.open);
  if (gaps.extend < 1 || gaps.extend > 100)
    fail_input("--gap-extend must be between 1 and 100 (got {}; BLAST's default is 1)", gaps.extend);
}

}  // namespace kfold::msa

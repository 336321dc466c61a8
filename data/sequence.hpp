// One named protein sequence, as read from a FASTA header and its residue lines.
//
// Residue letters: the 20 standard amino acids plus X (unknown), B (Asx), Z (Glx), U (selenocysteine),
// O (pyrrolysine) and J (Leu/Ile). Parsers keep the non-standard letters as they are; the model maps
// them like AlphaFold does:
//   - query sequence (aatype, residue_constants.sequence_to_onehot with map_unknown_to_x): B, Z, U, O, J
//     and any other letter become X (unknown, restype 20);
//   - MSA rows (residue_constants.HHBLITS_AA_TO_ID): B → D, Z → E, U → C, and J, O, X → unknown (20);
//     '-' is the gap (21).
#pragma once

#include <string>
#include <string_view>

namespace kfold::data {

struct Sequence {
  std::string id;           // first whitespace-delimited token of the header (without '>')
  std::string description;  // the rest of the header line, surrounding whitespace removed
  std::string residues;     // uppercase one-letter codes, no whitespace, no trailing '*'
};

// Character tests without locale, for parsers of sequence and alignment files.
inline bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_ascii_letter(char c) { return is_ascii_upper(c) || is_ascii_lower(c); }
inline char to_ascii_upper(char c) { return is_ascii_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
inline char to_ascii_lower(char c) { return is_ascii_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }
// `text` without the is_space characters at either end.
inline std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// A character as it appears in an error message: 'x' when printable, "byte 0x1b" otherwise.
inline std::string char_for_message(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  constexpr const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

}  // namespace kfold::data

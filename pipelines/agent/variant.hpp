// Protein variants written the usual way: `A23P` (wild type, residue number, mutant), several joined
// with ':' (`A23P:G45S`), `WT` for the wild type itself; parsing, validation against the wild type,
// formatting and applying them to a sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::pipelines::agent {

// One amino-acid substitution. `position` is a residue number in the target's numbering (the first
// residue of the target sequence has number `first_residue`, 1 unless the campaign says otherwise).
struct Substitution {
  int64_t position = 0;
  char wild_type = 'A';
  char mutant = 'A';
  bool operator==(const Substitution&) const = default;
};

// Substitutions sorted by position, at most one per position. Empty: the wild type.
struct Variant {
  std::vector<Substitution> substitutions;
  bool is_wild_type() const { return substitutions.empty(); }
  bool operator==(const Variant&) const = default;
};

// The 20 standard amino acids in alphabetical one-letter order.
inline constexpr std::string_view kAminoAcids = "ACDEFGHIKLMNPQRSTVWY";
bool is_standard_amino_acid(char c);

// Parses `A23P`, `A23P:G45S` or `WT` (any case of "wt"). Sorts by position. Throws InputError
// "<context>: variant '<text>': <problem>; <fix>" for bad syntax, a non-standard amino acid, a
// position that is not a whole number, a synonymous substitution (A23A) or a position given twice.
Variant parse_variant(std::string_view text, std::string_view context);

// `A23P:G45S`, or `WT` for the wild type. parse_variant(format_variant(v)) == v.
std::string format_variant(const Variant& variant);

// Throws InputError naming the context and the variant when a position lies outside the sequence
// (numbered first_residue .. first_residue + size - 1) or its wild-type letter differs from the
// sequence; the message says which residue the sequence has there.
void check_variant(const Variant& variant, std::string_view wild_type, int64_t first_residue, std::string_view context);

// The mutant sequence (check_variant first; this checks again).
std::string apply_variant(const Variant& variant, std::string_view wild_type, int64_t first_residue);

}  // namespace kfold::pipelines::agent

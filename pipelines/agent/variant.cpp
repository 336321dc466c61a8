// Parsing, formatting, validation and application of protein variants (`A23P:G45S`).
#include "pipelines/agent/variant.hpp"

#include <algorithm>
#include <charconv>

#include "data/error.hpp"
#include "data/sequence.hpp"

namespace kfold::pipelines::agent {

bool is_standard_amino_acid(char c) { return kAminoAcids.find(c) != std::string_view::npos; }

namespace {

Substitution parse_substitution(std::string_view full, std::string_view part, std::string_view context) {
  constexpr std::string_view kFix = "write substitutions like A23P (wild type, residue number, mutant), joined by ':'";
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (part.size() >= 2 && is_digit(part.back()) && !is_digit(part.front())) {
    fail_input("{}: variant '{}': '{}' has no mutant residue (the letter after the residue number); {}", context, full,
               part, kFix);
  }
  if (part.size() >= 2 && is_digit(part.front()) && !is_digit(part.back())) {
    fail_input("{}: variant '{}': '{}' has no wild-type residue (the letter before the residue number); {}", context,
               full, part, kFix);
  }
  if (part.size() < 3) fail_input("{}: variant '{}': '{}' is too short; {}", context, full, part, kFix);
  Substitution s;
  s.wild_type = part.front();
  s.mutant = part.back();
  for (const char c : {s.wild_type, s.mutant}) {
    if (!is_standard_amino_acid(c)) {
      fail_input("{}: variant '{}': {} is not one of the 20 standard amino acids (upper case {}); {}", context, full,
                 data::char_for_message(c), kAminoAcids, kFix);
    }
  }
  const std::string_view digits = part.substr(1, part.size() - 2);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), s.position);
  // (A leading '-' is a residue number below 1, as target.first_residue allows; '+' is not written.)
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.front() == '+') {
    fail_input("{}: variant '{}': '{}' is not a residue number in '{}'; {}", context, full, digits, part, kFix);
  }
  if (s.wild_type == s.mutant) {
    fail_input("{}: variant '{}': '{}' changes nothing (same amino acid); drop it, or write WT for the wild type",
               context, full, part);
  }
  return s;
}

}  // namespace

Variant parse_variant(std::string_view text, std::string_view context) {
  Variant v;
  if (text.empty()) fail_input("{}: empty variant; write A23P, A23P:G45S or WT", context);
  if (text == "WT" || text == "wt" || text == "Wt" || text == "wT") return v;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t colon = std::min(text.find(':', start), text.size());
    v.substitutions.push_back(parse_substitution(text, text.substr(start, colon - start), context));
    start = colon + 1;
  }
  std::stable_sort(v.substitutions.begin(), v.substitutions.end(),
                   [](const Substitution& a, const Substitution& b) { return a.position < b.position; });
  for (size_t k = 1; k < v.substitutions.size(); ++k) {
    if (v.substitutions[k].position == v.substitutions[k - 1].position) {
      fail_input("{}: variant '{}': residue {} is changed twice; give one substitution per position", context, text,
                 v.substitutions[k].position);
    }
  }
  return v;
}

std::string format_variant(const Variant& variant) {
  if (variant.is_wild_type()) return "WT";
  std::string out;
  for (const Substitution& s : variant.substitutions) {
    if (!out.empty()) out += ':';
    out += s.wild_type;
    out += std::to_string(s.position);
    out += s.mutant;
  }
  return out;
}

void check_variant(const Variant& variant, std::string_view wild_type, int64_t first_residue,
                   std::string_view context) {
  const int64_t last = first_residue + static_cast<int64_t>(wild_type.size()) - 1;
  for (const Substitution& s : variant.substitutions) {
    if (s.position < first_residue || s.position > last) {
      fail_input(
          "{}: variant '{}': residue {} is outside the target sequence (residues {}..{}); check the numbering "
          "(target.first_residue sets the number of the first residue)",
          context, format_variant(variant), s.position, first_residue, last);
    }
    const char actual = wild_type[static_cast<size_t>(s.position - first_residue)];
    if (actual != s.wild_type) {
      // A44I where the wild type has I: the letters swapped, I44A (I44I would change nothing).
      const char mutant = s.mutant == actual ? s.wild_type : s.mutant;
      fail_input("{}: variant '{}': the wild type has {} at residue {}, not {}; write {}{}{} or check the numbering",
                 context, format_variant(variant), actual, s.position, s.wild_type, actual, s.position, mutant);
    }
  }
}

std::string apply_variant(const Variant& variant, std::string_view wild_type, int64_t first_residue) {
  check_variant(variant, wild_type, first_residue, "apply_variant");
  std::string out(wild_type);
  for (const Substitution& s : variant.substitutions) out[static_cast<size_t>(s.position - first_residue)] = s.mutant;
  return out;
}

}  // namespace kfold::pipelines::agent

// Position-specific scores of a query, [n_res][kAlphabetSize]: from a sequence and a substitution
// matrix (the first search round) or, later, from a PSSM. Every scoring stage reads only this.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "msa/alphabet.hpp"

namespace kfold::msa {

struct ScoreProfile {
  int64_t n_res = 0;
  std::vector<int8_t> scores;  // [n_res][kAlphabetSize]
  std::vector<uint8_t> codes;  // [n_res] the query's own residue codes
  int32_t min_score = 0;       // smallest and largest entry of `scores`
  int32_t max_score = 0;
  // Made by make_pssm (msa/pssm.hpp): searched with its own Karlin-Altschul parameters (pssm_statistics,
  // msa/composition_stats.hpp) instead of BLOSUM62's.
  bool pssm = false;

  int32_t score(int64_t i, uint8_t code) const { return scores[static_cast<size_t>(i * kAlphabetSize + code)]; }
  const int8_t* row(int64_t i) const { return scores.data() + i * kAlphabetSize; }
};

// Row i holds matrix[code(residues[i])][*].
ScoreProfile make_sequence_profile(std::string_view residues, const SubstitutionMatrix& matrix);

// Scores the positions with mask[i] != 0 as an X (unknown residue) of `matrix`: masked low-complexity
// regions then neither seed nor add to alignment scores (BLAST's SEG masking of the query); `codes`
// keep the real residues. An empty mask changes nothing.
void mask_profile_positions(ScoreProfile& profile, std::span<const uint8_t> mask, const SubstitutionMatrix& matrix);

// Local composition-bias correction (the idea of MMseqs2's --comp-bias-corr): row i is shifted by its
// expected score against background residues minus its mean score against the query's own residues
// within `half_window` positions (i, X and masked positions excluded), rounded. Where neighbouring
// residues resemble each other (coiled coils, repeats, charged stretches) every score drops, so a target
// of the same bias does not align there on composition alone; elsewhere the shift is about 0. Masked
// rows are left as they are.
void correct_local_composition_bias(ScoreProfile& profile, std::span<const uint8_t> mask, int64_t half_window = 20);

}  // namespace kfold::msa

// Position-specific scoring matrices from search hits, PSI-BLAST style: position-based sequence
// weights (Henikoff & Henikoff 1994), BLOSUM62-derived pseudocounts (Altschul et al. 1997, with
// beta = 10), scores in BLOSUM62's own units (lambda_ungapped = 0.3176). Rounding and clamping leave
// the PSSM's ungapped lambda near but not at BLOSUM62's, and its more informative scores have a larger K:
// the search takes both from the PSSM's own scores (pssm_statistics, msa/composition_stats.hpp), as
// PSI-BLAST does, to scale BLOSUM62's gapped parameters.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "msa/score_profile.hpp"

namespace kfold::msa {

inline constexpr uint8_t kGapCode = 255;

// BLOSUM62's ungapped lambda with its background frequencies (NCBI: 0.3176): the PSSM's score unit.
inline constexpr double kBlosum62UngappedLambda = 0.3176;

// Robinson & Robinson (1991) amino acid background frequencies in ARNDCQEGHILKMFPSTWYV order.
const std::array<double, 20>& background_frequencies();

struct PssmOptions {
  double pseudocount_weight = 10.0;  // beta
  int32_t max_abs_score = 15;        // scores are clamped to [-max, max]
};

// `rows` are aligned to the query, one code per query column (kGapCode for a gap); rows[0] is the
// query. Returns the profile (codes = the query's) used by the next search round.
ScoreProfile make_pssm(const std::vector<std::vector<uint8_t>>& rows, const PssmOptions& options = {});

}  // namespace kfold::msa

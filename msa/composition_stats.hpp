// Composition-based statistics (after Schaffer et al. 2001, NCBI BLAST's composition-based statistics):
// a query and a target whose amino-acid compositions are biased the same way (two coiled coils, two
// Glu/Lys-rich or Pro-rich sequences) score well above chance without being related, and BLOSUM62's
// lambda, which assumes background frequencies, makes such scores look significant. For each pair
// the ungapped lambda of the query's scores is recomputed with the target's composition (lambda'), and
// the alignment score is scaled by lambda' / lambda_ungapped(BLOSUM62) before the E-value is computed.
// The ratio is kept in [kMinLambdaRatio, 1] as BLAST does: the correction only ever makes a hit less
// significant, and by at most a factor 2 in score.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "msa/pssm.hpp"
#include "msa/score_profile.hpp"

namespace kfold::msa {

inline constexpr double kMinLambdaRatio = 0.5;
// Background-weighted pseudocounts added to a target's composition, so that a short target's counts do
// not pass for a bias.
inline constexpr double kTargetCompositionPseudocounts = 20.0;

// Root lambda > 0 of sum_s p[s] exp(lambda * (min_score + s)) = 1 for a score distribution p (sums to 1)
// over scores min_score, min_score + 1, ...; 0 when there is none (mean score >= 0 or no positive score).
double ungapped_lambda(std::span<const double> probabilities, int32_t min_score);

// Frequencies of the 20 amino acids in `codes` (X not counted) blended with the background frequencies
// (msa/pssm.hpp) by `pseudocounts` background-weighted counts.
std::array<double, 20> residue_composition(std::span<const uint8_t> codes, double pseudocounts);

// One query profile's scores, prepared for the per-target ratio: for each of the 20 target residues, the
// fraction of the query's positions (those with mask 0) giving each score.
class CompositionStats {
 public:
  // `mask`: as low_complexity_mask (msa/prefilter.hpp); masked positions are left out. Empty: none.
  CompositionStats(const ScoreProfile& profile, std::span<const uint8_t> mask);

  // lambda' / kBlosum62UngappedLambda for a target with these residue codes, clamped to
  // [kMinLambdaRatio, 1]; 1 when the query has no unmasked position.
  double lambda_ratio(std::span<const uint8_t> target) const;

 private:
  int32_t min_score_ = 0;
  int64_t n_scores_ = 0;
  std::vector<double> fractions_;  // [20][n_scores_]: positions scoring min_score_ + s against residue b
};

}  // namespace kfold::msa

// Composition-based statistics (after Schaffer et al. 2001, NCBI BLAST's composition-based statistics):
// a query and a target whose amino-acid compositions are biased the same way (two coiled coils, two
// Glu/Lys-rich or Pro-rich sequences) score well above chance without being related, and BLOSUM62's
// lambda, which assumes background frequencies, makes such scores look significant. For each pair
// the ungapped lambda of the query's scores is recomputed with the target's composition (lambda'), and
// the alignment score is scaled by lambda' / lambda_ungapped(BLOSUM62) before the E-value is computed.
// The ratio is kept in [kMinLambdaRatio, 1] as BLAST does: the correction only ever makes a hit less
// significant, and by at most a factor 2 in score.
// A PSSM's own Karlin-Altschul parameters (pssm_statistics) are here too: they come from the same score
// distribution, under the background composition.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "msa/karlin_altschul.hpp"
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

// Karlin-Altschul K of ungapped local alignment scores with distribution p (as for ungapped_lambda) and
// their lambda (Karlin & Altschul 1990): K = exp(-2 sigma) d / ((H / lambda)(1 - exp(-lambda d))), with d
// the scores' lattice span (their gcd), H / lambda = sum_s p_s s exp(lambda s), and
// sigma = sum_k (1 / k) [E(exp(lambda S_k); S_k < 0) + P(S_k >= 0)], S_k a sum of k scores (the series is
// summed until a term adds less than 1e-8 of it, at most 400 terms). BLOSUM62 with its background
// frequencies: 0.1337 (NCBI: 0.134). 0 when lambda <= 0.
double ungapped_k(std::span<const double> probabilities, int32_t min_score, double lambda);

// Frequencies of the 20 amino acids in `codes` (X not counted) blended with the background frequencies
// (msa/pssm.hpp) by `pseudocounts` background-weighted counts.
std::array<double, 20> residue_composition(std::span<const uint8_t> codes, double pseudocounts);

// One query profile's scores, prepared for the per-target ratio: for each of the 20 target residues, the
// fraction of the query's positions (those with mask 0) giving each score.
class CompositionStats {
 public:
  // `mask`: as low_complexity_mask (msa/prefilter.hpp); masked positions are left out. Empty: none.
  // `reference_lambda`: the ungapped lambda that a ratio of 1 stands for (a PSSM's own: pssm_statistics).
  CompositionStats(const ScoreProfile& profile, std::span<const uint8_t> mask,
                   double reference_lambda = kBlosum62UngappedLambda);

  // lambda' / reference_lambda for a target with these residue codes, clamped to [kMinLambdaRatio, 1];
  // 1 when the query has no unmasked position.
  double lambda_ratio(std::span<const uint8_t> target) const;

  // The distribution of the profile's scores against residues of this composition: probabilities of
  // min_score(), min_score() + 1, ...; empty when the query has no unmasked position.
  std::vector<double> score_probabilities(const std::array<double, 20>& composition) const;
  int32_t min_score() const { return min_score_; }

 private:
  double reference_lambda_ = kBlosum62UngappedLambda;
  int32_t min_score_ = 0;
  int64_t n_scores_ = 0;
  std::vector<double> fractions_;  // [20][n_scores_]: positions scoring min_score_ + s against residue b
};

// The Karlin-Altschul parameters of a PSSM (make_pssm), as PSI-BLAST derives them: its scores' ungapped lambda_u
// and K_u under the background frequencies (positions with mask 0) scale BLOSUM62's gapped parameters for the
// same gap costs, lambda = lambda_g lambda_u / lambda_u(BLOSUM62) and K = K_g K_u / K_u(BLOSUM62) (BLOSUM62's
// from the same functions: 0.3176 and 0.1337); alpha scales with lambda (the expected alignment length per
// nat of score stays BLOSUM62's), beta is kept. Rounded scores leave lambda_u near BLOSUM62's (0.29-0.33
// measured); a family profile's more informative scores raise K_u (1.3-1.4x BLOSUM62's for DHFR and
// beta-lactamase profiles), which BLOSUM62's K understated, by as much in the E-values. `ungapped_lambda`
// (lambda_u) is the reference of the profile's composition ratios (CompositionStats). A profile whose scores
// have no lambda (mean >= 0, or no unmasked position) keeps BLOSUM62's parameters and reference.
struct PssmStatistics {
  KarlinAltschulParams gapped;
  double ungapped_lambda = kBlosum62UngappedLambda;
};
PssmStatistics pssm_statistics(const ScoreProfile& profile, std::span<const uint8_t> mask,
                               const KarlinAltschulParams& blosum62_gapped);

}  // namespace kfold::msa

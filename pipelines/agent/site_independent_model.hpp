// Site-independent model of a family alignment: weighted state frequencies per column with a pseudocount
// (0.5 Neff spread evenly over the 21 states), and the score of a substitution, log f(mutant) - log f(wild
// type) at its column (summed over the substitutions of a multiple mutant).
#pragma once

#include <cstdint>
#include <vector>

#include "pipelines/agent/family_alignment.hpp"
#include "pipelines/agent/sequence_weights.hpp"

namespace kfold::pipelines::agent {

struct SiteIndependentModel {
  int64_t n_col = 0;
  std::vector<double> frequencies;  // [n_col, kStates], rows sum to 1
  // Weighted frequency of each state without the pseudocount [n_col, kStates] (conservation, consensus).
  std::vector<double> raw_frequencies;

  double frequency(int64_t col, uint8_t state) const { return frequencies[static_cast<size_t>(col * kStates + state)]; }
  double raw_frequency(int64_t col, uint8_t state) const {
    return raw_frequencies[static_cast<size_t>(col * kStates + state)];
  }
  // log f(mutant) - log f(wild type) at one column.
  double score(int64_t col, uint8_t wild_type, uint8_t mutant) const;
  // Most frequent amino acid (not gap) of a column by raw weighted frequency; ties: the lower state.
  uint8_t consensus(int64_t col) const;
};

// f_i(a) = (sum_n w_n [x_ni = a] + p / 21) / (Neff + p), p = pseudocount_fraction * Neff.
SiteIndependentModel fit_site_independent_model(const FamilyAlignment& alignment, const SequenceWeights& weights,
                                                double pseudocount_fraction = 0.5);

}  // namespace kfold::pipelines::agent

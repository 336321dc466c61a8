// Weighted column frequencies with a pseudocount and log-ratio substitution scores.
#include "pipelines/agent/site_independent_model.hpp"

#include <cmath>

namespace kfold::pipelines::agent {

double SiteIndependentModel::score(int64_t col, uint8_t wild_type, uint8_t mutant) const {
  return std::log(frequency(col, mutant)) - std::log(frequency(col, wild_type));
}

uint8_t SiteIndependentModel::consensus(int64_t col) const {
  uint8_t best = 0;
  for (uint8_t a = 1; a < 20; ++a) {
    if (raw_frequency(col, a) > raw_frequency(col, best)) best = a;
  }
  return best;
}

SiteIndependentModel fit_site_independent_model(const FamilyAlignment& alignment, const SequenceWeights& weights,
                                                double pseudocount_fraction) {
  SiteIndependentModel m;
  m.n_col = alignment.n_col;
  const auto size = static_cast<size_t>(m.n_col * kStates);
  std::vector<double> counts(size, 0.0);
  // Sequence order is fixed, so the sums are the same on every run.
  for (int64_t s = 0; s < alignment.n_seq; ++s) {
    const double w = weights.weights[static_cast<size_t>(s)];
    const uint8_t* row = alignment.row(s);
    for (int64_t i = 0; i < m.n_col; ++i) counts[static_cast<size_t>(i * kStates + row[i])] += w;
  }
  const double pseudo = pseudocount_fraction * weights.neff;
  m.frequencies.resize(size);
  m.raw_frequencies.resize(size);
  for (size_t k = 0; k < size; ++k) {
    m.frequencies[k] = (counts[k] + pseudo / static_cast<double>(kStates)) / (weights.neff + pseudo);
    m.raw_frequencies[k] = weights.neff > 0.0 ? counts[k] / weights.neff : 0.0;
  }
  return m;
}

}  // namespace kfold::pipelines::agent

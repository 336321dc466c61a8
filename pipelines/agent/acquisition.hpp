// Acquisition functions that rank unmeasured candidates from the surrogate ensemble: UCB (mean + beta sd)
// and Thompson sampling (each pick takes the best candidate under one ensemble member drawn at random,
// seeded, so a plate is a sample of the posterior's optima). Deterministic given the seed.
#pragma once

#include <cstdint>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/plate_layout.hpp"

namespace kfold::pipelines::agent {

// mean + beta sd per candidate (NaN where either is NaN).
std::vector<double> ucb_scores(const std::vector<double>& mean, const std::vector<double>& sd, double beta);

// Draws the ensemble member of each Thompson pick: member k of the sequence is the same for a seed on
// every platform and thread count.
class ThompsonSampler {
 public:
  ThompsonSampler(int64_t members, uint64_t seed);
  int64_t next_member();

 private:
  int64_t members_;
  SplitMix64 rng_;
};

// The value written to scores.tsv's `acquisition` column: UCB, or under Thompson sampling the prediction
// of the first member the plate draws (the plate draws a new member for every pick).
std::vector<double> acquisition_values(const AcquisitionSpec& spec, const std::vector<double>& mean,
                                       const std::vector<double>& sd,
                                       const std::vector<std::vector<double>>& member_predictions, uint64_t seed);

}  // namespace kfold::pipelines::agent

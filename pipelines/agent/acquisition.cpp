// UCB scores and Thompson-sampling member draws.
#include "pipelines/agent/acquisition.hpp"

#include <cmath>
#include <limits>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

std::vector<double> ucb_scores(const std::vector<double>& mean, const std::vector<double>& sd, double beta) {
  if (mean.size() != sd.size()) fail_runtime("ucb_scores: {} means, {} sds", mean.size(), sd.size());
  std::vector<double> out(mean.size());
  for (size_t k = 0; k < mean.size(); ++k) out[k] = mean[k] + beta * sd[k];
  return out;
}

ThompsonSampler::ThompsonSampler(int64_t members, uint64_t seed)
    : members_(members), rng_(seed ^ 0x5f0e7a3c2b1d4e69ULL) {
  if (members < 1) fail_runtime("ThompsonSampler: needs at least one member");
}

int64_t ThompsonSampler::next_member() { return static_cast<int64_t>(rng_.below(static_cast<uint64_t>(members_))); }

std::vector<double> acquisition_values(const AcquisitionSpec& spec, const std::vector<double>& mean,
                                       const std::vector<double>& sd,
                                       const std::vector<std::vector<double>>& member_predictions, uint64_t seed) {
  if (spec.type == "thompson" && !member_predictions.empty()) {
    ThompsonSampler sampler(static_cast<int64_t>(member_predictions.size()), seed);
    return member_predictions[static_cast<size_t>(sampler.next_member())];
  }
  return ucb_scores(mean, sd, spec.beta);
}

}  // namespace kfold::pipelines::agent

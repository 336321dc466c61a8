// Composition-based lambda ratios: score distributions under a target's composition and their
// ungapped lambda.
#include "msa/composition_stats.hpp"

#include <algorithm>
#include <cmath>

#include "msa/pssm.hpp"

namespace kfold::msa {
namespace {

constexpr int64_t kAa = 20;

}  // namespace

double ungapped_lambda(std::span<const double> probabilities, int32_t min_score) {
  double mean = 0.0;
  bool positive = false;
  for (size_t s = 0; s < probabilities.size(); ++s) {
    const double score = min_score + static_cast<double>(s);
    mean += probabilities[s] * score;
    positive |= probabilities[s] > 0.0 && score > 0.0;
  }
  if (!(mean < 0.0) || !positive) return 0.0;
  // f(lambda) = sum_s p_s exp(lambda s) - 1 is convex with f(0) = 0 and f'(0) = mean < 0, and grows
  // without bound: one positive root. Bracket it, then bisect.
  const auto f = [&](double lambda) {
    double sum = 0.0;
    for (size_t s = 0; s < probabilities.size(); ++s)
      if (probabilities[s] > 0.0) sum += probabilities[s] * std::exp(lambda * (min_score + static_cast<double>(s)));
    return sum - 1.0;
  };
  double lo = 0.0;
  double hi = 0.5;
  while (f(hi) <= 0.0) {
    lo = hi;
    hi *= 2.0;
  }
  for (int iteration = 0; iteration < 60 && hi - lo > 1e-12; ++iteration) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > 0.0 ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

std::array<double, 20> residue_composition(std::span<const uint8_t> codes, double pseudocounts) {
  std::array<double, kAa> counts{};
  double n = 0.0;
  for (const uint8_t c : codes) {
    if (c < kAa) {
      counts[c] += 1.0;
      n += 1.0;
    }
  }
  const auto& background = background_frequencies();
  std::array<double, kAa> composition{};
  for (int64_t a = 0; a < kAa; ++a) composition[a] = (counts[a] + pseudocounts * background[a]) / (n + pseudocounts);
  return composition;
}

CompositionStats::CompositionStats(const ScoreProfile& profile, std::span<const uint8_t> mask) {
  int32_t lo = 0;
  int32_t hi = 0;
  for (int64_t i = 0; i < profile.n_res; ++i) {
    const int8_t* row = profile.row(i);
    lo = std::min<int32_t>(lo, *std::min_element(row, row + kAa));
    hi = std::max<int32_t>(hi, *std::max_element(row, row + kAa));
  }
  min_score_ = lo;
  n_scores_ = hi - lo + 1;
  fractions_.assign(static_cast<size_t>(kAa * n_scores_), 0.0);
  int64_t positions = 0;
  for (int64_t i = 0; i < profile.n_res; ++i) {
    if (!mask.empty() && mask[static_cast<size_t>(i)] != 0) continue;
    ++positions;
    const int8_t* row = profile.row(i);
    for (int64_t b = 0; b < kAa; ++b) fractions_[static_cast<size_t>(b * n_scores_ + row[b] - min_score_)] += 1.0;
  }
  if (positions == 0) {
    fractions_.clear();
    return;
  }
  for (double& x : fractions_) x /= static_cast<double>(positions);
}

double CompositionStats::lambda_ratio(std::span<const uint8_t> target) const {
  if (fractions_.empty()) return 1.0;
  const std::array<double, kAa> composition = residue_composition(target, kTargetCompositionPseudocounts);
  std::array<double, 256> probabilities{};  // [n_scores_ <= 256]: int8 scores
  for (int64_t b = 0; b < kAa; ++b) {
    const double* row = fractions_.data() + b * n_scores_;
    for (int64_t s = 0; s < n_scores_; ++s) probabilities[static_cast<size_t>(s)] += composition[b] * row[s];
  }
  const double ratio = ungapped_lambda(std::span(probabilities.data(), static_cast<size_t>(n_scores_)), min_score_) /
                       kBlosum62UngappedLambda;
  return std::clamp(ratio, kMinLambdaRatio, 1.0);
}

}  // namespace kfold::msa

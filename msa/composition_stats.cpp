// Composition-based lambda ratios: score distributions under a target's composition and their
// ungapped lambda; the ungapped K, and a PSSM's own Karlin-Altschul parameters.
#include "msa/composition_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

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

double ungapped_k(std::span<const double> probabilities, int32_t min_score, double lambda) {
  if (!(lambda > 0.0)) return 0.0;
  int32_t span = 0;     // the lattice span d: gcd of the scores that occur
  double tilted = 0.0;  // H / lambda
  for (size_t s = 0; s < probabilities.size(); ++s) {
    if (!(probabilities[s] > 0.0)) continue;
    const int32_t score = min_score + static_cast<int32_t>(s);
    span = std::gcd(span, score);
    tilted += probabilities[s] * score * std::exp(lambda * score);
  }
  if (!(tilted > 0.0) || span == 0) return 0.0;
  // sum_k: the distribution of S_k, probabilities of low_k, low_k + 1, ..., by convolution.
  std::vector<double> sum(probabilities.begin(), probabilities.end());
  std::vector<double> next;
  int64_t low = min_score;
  double sigma = 0.0;
  for (int64_t k = 1; k <= 400; ++k) {
    double term = 0.0;
    for (size_t i = 0; i < sum.size(); ++i) {
      const auto score = static_cast<double>(low + static_cast<int64_t>(i));
      term += score < 0.0 ? sum[i] * std::exp(lambda * score) : sum[i];
    }
    sigma += term / static_cast<double>(k);
    if (term / static_cast<double>(k) < 1e-8 * sigma) break;
    next.assign(sum.size() + probabilities.size() - 1, 0.0);
    for (size_t i = 0; i < sum.size(); ++i) {
      if (!(sum[i] > 0.0)) continue;
      for (size_t j = 0; j < probabilities.size(); ++j) next[i + j] += sum[i] * probabilities[j];
    }
    sum.swap(next);
    low += min_score;
  }
  return std::exp(-2.0 * sigma) * span / (tilted * -std::expm1(-lambda * span));
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

CompositionStats::CompositionStats(const ScoreProfile& profile, std::span<const uint8_t> mask, double reference_lambda)
    : reference_lambda_(reference_lambda) {
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

std::vector<double> CompositionStats::score_probabilities(const std::array<double, 20>& composition) const {
  std::vector<double> probabilities(static_cast<size_t>(fractions_.empty() ? 0 : n_scores_), 0.0);
  if (fractions_.empty()) return probabilities;
  for (int64_t b = 0; b < kAa; ++b) {
    const double* row = fractions_.data() + b * n_scores_;
    for (int64_t s = 0; s < n_scores_; ++s) probabilities[static_cast<size_t>(s)] += composition[b] * row[s];
  }
  return probabilities;
}

double CompositionStats::lambda_ratio(std::span<const uint8_t> target) const {
  if (fractions_.empty()) return 1.0;
  const std::array<double, kAa> composition = residue_composition(target, kTargetCompositionPseudocounts);
  std::array<double, 256> probabilities{};  // [n_scores_ <= 256]: int8 scores
  for (int64_t b = 0; b < kAa; ++b) {
    const double* row = fractions_.data() + b * n_scores_;
    for (int64_t s = 0; s < n_scores_; ++s) probabilities[static_cast<size_t>(s)] += composition[b] * row[s];
  }
  const double ratio =
      ungapped_lambda(std::span(probabilities.data(), static_cast<size_t>(n_scores_)), min_score_) / reference_lambda_;
  return std::clamp(ratio, kMinLambdaRatio, 1.0);
}

PssmStatistics pssm_statistics(const ScoreProfile& profile, std::span<const uint8_t> mask,
                               const KarlinAltschulParams& blosum62_gapped) {
  // BLOSUM62's ungapped lambda and K with the background frequencies, from the functions the profile's use.
  static const std::array<double, 2> ideal = [] {
    const auto& q = background_frequencies();
    constexpr int32_t kLow = -4;  // BLOSUM62's lowest score among the 20 amino acids
    std::vector<double> p(16, 0.0);
    for (int64_t a = 0; a < kAa; ++a)
      for (int64_t b = 0; b < kAa; ++b) p[static_cast<size_t>(blosum62()[a][b] - kLow)] += q[a] * q[b];
    const double lambda = ungapped_lambda(p, kLow);
    return std::array<double, 2>{lambda, ungapped_k(p, kLow, lambda)};
  }();
  PssmStatistics out;
  out.gapped = blosum62_gapped;
  const CompositionStats stats(profile, mask);
  const std::vector<double> p = stats.score_probabilities(background_frequencies());
  const double lambda = p.empty() ? 0.0 : ungapped_lambda(p, stats.min_score());
  const double k = ungapped_k(p, stats.min_score(), lambda);
  if (!(lambda > 0.0 && k > 0.0)) return out;
  const double lambda_scale = lambda / ideal[0];
  out.gapped.lambda *= lambda_scale;
  out.gapped.alpha *= lambda_scale;
  out.gapped.k *= k / ideal[1];
  out.ungapped_lambda = lambda;
  return out;
}

}  // namespace kfold::msa

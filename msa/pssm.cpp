// PSSM construction: sequence weights, observed and pseudocount frequencies, log-odds scores.
#include "msa/pssm.hpp"

#include <algorithm>
#include <cmath>

#include "msa/alphabet.hpp"

namespace kfold::msa {
namespace {

constexpr int64_t kAa = 20;

// q(a | b) = q_a exp(lambda s(a, b)), normalised over a.
std::array<std::array<double, kAa>, kAa> conditional_frequencies() {
  const auto& q = background_frequencies();
  std::array<std::array<double, kAa>, kAa> cond{};
  for (int64_t b = 0; b < kAa; ++b) {
    double sum = 0.0;
    for (int64_t a = 0; a < kAa; ++a) {
      cond[b][a] = q[a] * std::exp(kBlosum62UngappedLambda * blosum62()[a][b]);
      sum += cond[b][a];
    }
    for (int64_t a = 0; a < kAa; ++a) cond[b][a] /= sum;
  }
  return cond;
}

}  // namespace

const std::array<double, 20>& background_frequencies() {
  static const std::array<double, 20> q = {0.07805, 0.05129, 0.04487, 0.05364, 0.01925, 0.04264, 0.06295,
                                           0.07377, 0.02199, 0.05142, 0.09019, 0.05744, 0.02243, 0.03856,
                                           0.05203, 0.07120, 0.05841, 0.01330, 0.03216, 0.06441};
  return q;
}

ScoreProfile make_pssm(const std::vector<std::vector<uint8_t>>& rows, const PssmOptions& options) {
  static const auto cond = conditional_frequencies();
  const auto& q = background_frequencies();
  const auto n_res = static_cast<int64_t>(rows.front().size());
  const auto n_rows = static_cast<int64_t>(rows.size());

  // Position-based weights: each column gives 1 / (distinct residues * rows with this residue).
  std::vector<double> weight(static_cast<size_t>(n_rows), 0.0);
  double mean_distinct = 0.0;
  int64_t columns = 0;
  for (int64_t i = 0; i < n_res; ++i) {
    std::array<int64_t, kAa> count{};
    for (const auto& row : rows)
      if (row[static_cast<size_t>(i)] < kAa) ++count[row[static_cast<size_t>(i)]];
    const auto distinct = std::count_if(count.begin(), count.end(), [](int64_t c) { return c > 0; });
    if (distinct == 0) continue;
    mean_distinct += static_cast<double>(distinct);
    ++columns;
    for (int64_t k = 0; k < n_rows; ++k) {
      const uint8_t c = rows[static_cast<size_t>(k)][static_cast<size_t>(i)];
      if (c < kAa)
        weight[static_cast<size_t>(k)] += 1.0 / (static_cast<double>(distinct) * static_cast<double>(count[c]));
    }
  }
  mean_distinct = columns > 0 ? mean_distinct / static_cast<double>(columns) : 1.0;
  const double alpha = std::max(mean_distinct - 1.0, 0.0);
  const double beta = options.pseudocount_weight;

  ScoreProfile profile;
  profile.n_res = n_res;
  profile.pssm = true;
  profile.codes = rows.front();
  for (auto& c : profile.codes)
    if (c == kGapCode) c = kCodeX;
  profile.scores.assign(static_cast<size_t>(n_res * kAlphabetSize), -1);
  int32_t lo = 127, hi = -128;
  for (int64_t i = 0; i < n_res; ++i) {
    std::array<double, kAa> f{};
    double total = 0.0;
    for (int64_t k = 0; k < n_rows; ++k) {
      const uint8_t c = rows[static_cast<size_t>(k)][static_cast<size_t>(i)];
      if (c < kAa) {
        f[c] += weight[static_cast<size_t>(k)];
        total += weight[static_cast<size_t>(k)];
      }
    }
    int8_t* out = profile.scores.data() + i * kAlphabetSize;
    if (total <= 0.0) {  // only X in this column: score like BLOSUM62's X row
      for (int64_t a = 0; a < kAlphabetSize; ++a) out[a] = blosum62()[kCodeX][a];
    } else {
      for (auto& x : f) x /= total;
      for (int64_t a = 0; a < kAa; ++a) {
        double g = 0.0;
        for (int64_t b = 0; b < kAa; ++b) g += f[b] * cond[b][a];
        const double p = (alpha * f[a] + beta * g) / (alpha + beta);
        const double s = std::round(std::log(p / q[a]) / kBlosum62UngappedLambda);
        out[a] = static_cast<int8_t>(std::clamp<double>(s, -options.max_abs_score, options.max_abs_score));
      }
      out[kCodeX] = -1;
    }
    for (int64_t a = 0; a < kAlphabetSize; ++a) {
      lo = std::min<int32_t>(lo, out[a]);
      hi = std::max<int32_t>(hi, out[a]);
    }
  }
  profile.min_score = n_res > 0 ? lo : 0;
  profile.max_score = n_res > 0 ? hi : 0;
  return profile;
}

}  // namespace kfold::msa

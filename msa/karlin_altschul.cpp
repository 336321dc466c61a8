// Karlin-Altschul E-values, bit scores and BLAST's length correction.
#include "msa/karlin_altschul.hpp"

#include <algorithm>
#include <cmath>

#include "data/error.hpp"

namespace kfold::msa {

KarlinAltschulParams blosum62_params(const GapPenalties& gaps) {
  // {open, extend, lambda, K, H, alpha, beta} from NCBI BLAST's blosum62_values.
  struct Row {
    int32_t open, extend;
    double lambda, k, h, alpha, beta;
  };
  static constexpr Row kRows[] = {
      {11, 2, 0.297, 0.082, 0.27, 1.1, -10}, {10, 2, 0.291, 0.075, 0.23, 1.3, -15},
      {9, 2, 0.279, 0.058, 0.19, 1.5, -19},  {8, 2, 0.264, 0.045, 0.15, 1.8, -26},
      {7, 2, 0.239, 0.027, 0.10, 2.5, -46},  {6, 2, 0.201, 0.012, 0.061, 3.3, -58},
      {13, 1, 0.292, 0.071, 0.23, 1.2, -11}, {12, 1, 0.283, 0.059, 0.19, 1.5, -19},
      {11, 1, 0.267, 0.041, 0.14, 1.9, -30}, {10, 1, 0.243, 0.024, 0.10, 2.5, -44},
      {9, 1, 0.206, 0.010, 0.052, 4.0, -87}, {32767, 32767, 0.3176, 0.134, 0.4012, 0.7916, -3.2},
  };
  for (const Row& row : kRows)
    if (row.open == gaps.open && row.extend == gaps.extend) return {row.lambda, row.k, row.h, row.alpha, row.beta};
  fail_input(
      "no published Karlin-Altschul parameters for BLOSUM62 with gap open {} / extend {} "
      "(supported: 9/1 to 13/1 and 6/2 to 11/2)",
      gaps.open, gaps.extend);
}

SearchSpace search_space(const KarlinAltschulParams& params, int64_t query_length, int64_t db_residues,
                         int64_t db_sequences) {
  const auto m = static_cast<double>(query_length);
  const auto n = static_cast<double>(db_residues);
  const auto n_seq = static_cast<double>(std::max<int64_t>(db_sequences, 1));
  SearchSpace space;
  space.effective_query = m;
  space.effective_db = n;
  // The correction may shrink the space to no less than max(m, n) / K: (m - l)(n - N l) = that bound
  // at l_max, the smaller root of N l^2 - (m N + n) l + (m n - max(m, n) / K) = 0.
  const double c = m * n - std::max(m, n) / params.k;
  if (c <= 0.0) return space;  // even the uncorrected space is at the bound: no correction
  const double b = m * n_seq + n;
  const double l_max = 2.0 * c / (b + std::sqrt(b * b - 4.0 * n_seq * c));
  // g(l) = (alpha / lambda) ln(K (m - l)(n - N l)) + beta falls as l grows, so g(l) - l has one root;
  // bisection finds it in [0, l_max], or l_max when the root lies beyond (the minimum search space is
  // reached first). beta < 0 is the edge correction of Altschul et al. (2001), which BLAST+ applies.
  const double alpha_d_lambda = params.alpha / params.lambda;
  const auto g = [&](double l) {
    return alpha_d_lambda * std::log(params.k * (m - l) * (n - n_seq * l)) + params.beta;
  };
  double l = 0.0;
  if (g(0.0) <= 0.0) {
    l = 0.0;
  } else if (g(l_max) >= l_max) {
    l = l_max;
  } else {
    double lo = 0.0;
    double hi = l_max;
    for (int iteration = 0; iteration < 100 && hi - lo > 1e-9 * std::max(1.0, hi); ++iteration) {
      const double mid = 0.5 * (lo + hi);
      (g(mid) >= mid ? lo : hi) = mid;
    }
    l = 0.5 * (lo + hi);
  }
  space.length_correction = l;
  space.effective_query = m - l;
  space.effective_db = n - n_seq * l;
  return space;
}

double evalue(const KarlinAltschulParams& params, const SearchSpace& space, double score) {
  return params.k * space.size() * std::exp(-params.lambda * score);
}

double bit_score(const KarlinAltschulParams& params, double score) {
  return (params.lambda * score - std::log(params.k)) / std::log(2.0);
}

}  // namespace kfold::msa

// Karlin-Altschul E-values, bit scores and BLAST's length correction.
#include "msa/karlin_altschul.hpp"

#include <algorithm>
#include <cmath>

#include "data/error.hpp"

namespace kfold::msa {

KarlinAltschulParams blosum62_params(const GapPenalties& gaps) {
  // {open, extend, lambda, K, H} from NCBI BLAST's blosum62_values.
  struct Row {
    int32_t open, extend;
    double lambda, k, h;
  };
  static constexpr Row kRows[] = {
      {11, 1, 0.267, 0.041, 0.14}, {10, 1, 0.243, 0.024, 0.10},           {12, 1, 0.283, 0.059, 0.19},
      {9, 2, 0.279, 0.058, 0.19},  {10, 2, 0.291, 0.075, 0.23},           {11, 2, 0.301, 0.09, 0.25},
      {13, 1, 0.294, 0.075, 0.24}, {32767, 32767, 0.3176, 0.134, 0.4012},
  };
  for (const Row& row : kRows)
    if (row.open == gaps.open && row.extend == gaps.extend) return {row.lambda, row.k, row.h};
  fail_input(
      "no published Karlin-Altschul parameters for BLOSUM62 with gap open {} / extend {} "
      "(supported: 11/1, 10/1, 12/1, 13/1, 9/2, 10/2, 11/2)",
      gaps.open, gaps.extend);
}

SearchSpace search_space(const KarlinAltschulParams& params, int64_t query_length, int64_t db_residues,
                         int64_t db_sequences) {
  const auto m = static_cast<double>(query_length);
  const auto n = static_cast<double>(db_residues);
  const auto n_seq = static_cast<double>(std::max<int64_t>(db_sequences, 1));
  double l = 0.0;
  for (int iteration = 0; iteration < 20; ++iteration) {
    const double m_eff = std::max(m - l, 1.0 / params.k);
    const double n_eff = std::max(n - n_seq * l, 1.0);
    const double next = std::max(std::log(params.k * m_eff * n_eff) / params.h, 0.0);
    if (std::abs(next - l) < 1e-6) {
      l = next;
      break;
    }
    l = next;
  }
  SearchSpace space;
  space.length_correction = l;
  space.effective_query = std::max(m - l, 1.0 / params.k);
  space.effective_db = std::max(n - n_seq * l, 1.0);
  return space;
}

double evalue(const KarlinAltschulParams& params, const SearchSpace& space, double score) {
  return params.k * space.size() * std::exp(-params.lambda * score);
}

double bit_score(const KarlinAltschulParams& params, double score) {
  return (params.lambda * score - std::log(params.k)) / std::log(2.0);
}

}  // namespace kfold::msa

// The objective a Potts model is fitted with (plmc's, EVmutation's): the weighted negative
// log-pseudo-likelihood of a family alignment plus L2 penalties,
//   f(h, J) = - sum_n w_n sum_i log P(x_ni | x_n,-i) + lambda_h sum |h_i|^2 + lambda_J sum_{i<j} |J_ij|^2,
//   P(a | x_-i) = exp(h_i(a) + sum_{j != i} J_ij(a, x_j)) / Z_i,
// with one J_ij per pair (symmetric model: J_ji(b, a) = J_ij(a, b)), and its exact gradient.
//
// Parameter vector layout (float): h [n_col, 21], then J_ij for i < j in order (0,1), (0,2), ...,
// (1,2), ..., each [21, 21] indexed [state at i][state at j].
#pragma once

#include <cstdint>
#include <vector>

#include "pipelines/agent/family_alignment.hpp"

namespace kfold::pipelines::agent {

// Offsets into the parameter vector.
inline int64_t potts_n_params(int64_t n_col) { return n_col * kStates + n_col * (n_col - 1) / 2 * kStates * kStates; }
inline int64_t potts_field_offset(int64_t i) { return i * kStates; }
// Offset of J_ij for i < j.
inline int64_t potts_pair_offset(int64_t n_col, int64_t i, int64_t j) {
  return n_col * kStates + (i * (2 * n_col - i - 1) / 2 + (j - i - 1)) * kStates * kStates;
}

class PottsPseudoLikelihood {
 public:
  // Keeps references to `alignment`; `weights` [n_seq]. threads 0: OpenMP's default.
  PottsPseudoLikelihood(const FamilyAlignment& alignment, const std::vector<double>& weights, double lambda_h,
                        double lambda_J, int threads);

  int64_t n_params() const { return potts_n_params(n_col_); }

  // Objective at `x`; fills `g` (resized to n_params()). OpenMP over columns: every column's
  // conditional likelihood is summed over sequences by one thread in sequence order into its own
  // buffers, which are then combined in a fixed order, so the result does not depend on the threads.
  double evaluate(const std::vector<float>& x, std::vector<float>& g);

 private:
  const FamilyAlignment& alignment_;
  std::vector<float> weights_;
  double lambda_h_;
  double lambda_J_;
  int threads_;
  int64_t n_col_;
  // Per-column gradient blocks, [n_col (site i)][n_col (j)][21 (x_j)][kPad (state at i)].
  std::vector<float> site_gradients_;
  std::vector<double> site_objective_;   // [n_col]
  std::vector<double> field_gradients_;  // [n_col, 21]
  std::vector<float> coupling_scratch_;  // [threads][n_col (j)][21 (x_j)][kPad (state at i)]
};

}  // namespace kfold::pipelines::agent

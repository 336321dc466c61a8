// A Potts model of a protein family (fields h_i(a), couplings J_ij(a, b)), fitted as EVmutation does:
// plmc's weighted pseudo-likelihood with L2 penalties (lambda_h = 0.01, lambda_J = 0.01 scaled by
// (q - 1)(L - 1), q = 21 states with the gap, L = columns), fields started at log(f_i(a) Neff + 1)
// centred, couplings at 0, minimised by L-BFGS (100 iterations). Mutation effects are changes of the
// Hamiltonian E(x) = sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j) against the wild-type background;
// coupling strengths are APC-corrected Frobenius norms.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "pipelines/agent/family_alignment.hpp"
#include "pipelines/agent/lbfgs.hpp"
#include "pipelines/agent/potts_pseudo_likelihood.hpp"
#include "pipelines/agent/sequence_weights.hpp"

namespace kfold::pipelines::agent {

struct PottsFitOptions {
  double lambda_h = 0.01;
  double lambda_J = 0.01;
  bool scale_lambda_J = true;  // lambda_J * (q - 1) * (L - 1), as EVcouplings passes to plmc
  int64_t max_iterations = 100;
  double epsilon = 1e-3;   // plmc's L-BFGS stopping rule
  int threads = 0;         // 0: OpenMP's default
  LbfgsProgress progress;  // after each iteration
};

struct PottsModel {
  int64_t n_col = 0;
  std::vector<float> params;  // layout of potts_pseudo_likelihood.hpp
  double lambda_J_used = 0.0;
  LbfgsResult fit;

  float h(int64_t i, uint8_t a) const { return params[static_cast<size_t>(potts_field_offset(i) + a)]; }
  float J(int64_t i, int64_t j, uint8_t a, uint8_t b) const {
    return i < j ? params[static_cast<size_t>(potts_pair_offset(n_col, i, j) + a * kStates + b)]
                 : params[static_cast<size_t>(potts_pair_offset(n_col, j, i) + b * kStates + a)];
  }
  // E(x) for a full sequence of states [n_col].
  double energy(const uint8_t* states) const;
  // E(mutant) - E(background) for substitutions (column, new state) on `background` [n_col]; columns
  // distinct. Pairs of mutated columns use both new states.
  double delta_energy(const uint8_t* background, const std::vector<std::pair<int64_t, uint8_t>>& mutations) const;
};

PottsModel fit_potts_model(const FamilyAlignment& alignment, const SequenceWeights& weights,
                           const PottsFitOptions& options);

struct CouplingScore {
  int64_t i = 0;  // column, i < j
  int64_t j = 0;
  double frobenius = 0.0;  // of J_ij over the 20 amino acids (gap excluded), in the zero-sum gauge
  double apc = 0.0;        // frobenius - mean_i mean_j / mean (average product correction)
};

// Every pair i < j, sorted by APC score (highest first; ties by (i, j)).
std::vector<CouplingScore> coupling_scores(const PottsModel& model);

}  // namespace kfold::pipelines::agent

// Sequence weights of a family alignment (plmc / EVcouplings convention): each sequence weighs 1/n,
// n = the number of sequences (itself included) with identity >= `identity` to it over the aligned
// columns (gap = gap counts as identical); Neff = the sum of the weights. Unlike plmc, a row with a letter outside
// the 20 amino acids (X, B, Z: read as a gap, family_alignment.hpp) is kept, not dropped (DHFR's alignment: 13 such
// rows; Neff 1570.07 against plmc's 1568.10).
#pragma once

#include <cstdint>
#include <vector>

#include "pipelines/agent/family_alignment.hpp"

namespace kfold::pipelines::agent {

struct SequenceWeights {
  std::vector<double> weights;      // [n_seq]
  std::vector<int64_t> neighbours;  // n of each sequence, itself included [n_seq]
  double neff = 0.0;
};

// O(n_seq^2 n_col), OpenMP over sequences; neighbour counts are integers, so the result is the same for
// any `threads` (0: OpenMP's default). `identity` in [0, 1]; a pair is neighbours when the number of
// identical columns is >= identity * n_col.
SequenceWeights compute_sequence_weights(const FamilyAlignment& alignment, double identity = 0.8, int threads = 0);

}  // namespace kfold::pipelines::agent

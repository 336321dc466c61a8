// Inverse-neighbourhood sequence weights (1/n at >= 80% identity by default), thread-count independent.
#include "pipelines/agent/sequence_weights.hpp"

#include <omp.h>

#include <cmath>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

namespace {

int64_t identical_columns(const uint8_t* a, const uint8_t* b, int64_t n) {
  int64_t same = 0;
  for (int64_t k = 0; k < n; ++k) same += a[k] == b[k];
  return same;
}

}  // namespace

SequenceWeights compute_sequence_weights(const FamilyAlignment& alignment, double identity, int threads) {
  if (!(identity >= 0.0 && identity <= 1.0))
    fail_internal("sequence weights: identity must be in [0, 1] (got {})", identity);
  const int64_t n_seq = alignment.n_seq;
  const int64_t n_col = alignment.n_col;
  // Smallest number of identical columns that makes two sequences neighbours.
  const auto min_same = static_cast<int64_t>(std::ceil(identity * static_cast<double>(n_col) - 1e-9));
  SequenceWeights out;
  out.neighbours.assign(static_cast<size_t>(n_seq), 1);  // itself
  const int n_threads = threads > 0 ? threads : omp_get_max_threads();
  // Each thread counts neighbours of the pairs (s, t > s) it visits into its own integer array; the
  // arrays are summed afterwards. Integer sums do not depend on the order, hence not on the threads.
  // Allocated here: an exception (out of memory) must not leave the parallel region (std::terminate).
  std::vector<std::vector<int64_t>> partial(static_cast<size_t>(n_threads),
                                            std::vector<int64_t>(static_cast<size_t>(n_seq), 0));
#pragma omp parallel num_threads(n_threads)
  {
    std::vector<int64_t>& counts = partial[static_cast<size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 16)
    for (int64_t s = 0; s < n_seq; ++s) {
      const uint8_t* a = alignment.row(s);
      for (int64_t t = s + 1; t < n_seq; ++t) {
        if (identical_columns(a, alignment.row(t), n_col) >= min_same) {
          ++counts[static_cast<size_t>(s)];
          ++counts[static_cast<size_t>(t)];
        }
      }
    }
  }
  for (const auto& counts : partial) {
    for (int64_t s = 0; s < n_seq; ++s) out.neighbours[static_cast<size_t>(s)] += counts[static_cast<size_t>(s)];
  }
  out.weights.resize(static_cast<size_t>(n_seq));
  for (int64_t s = 0; s < n_seq; ++s) {
    out.weights[static_cast<size_t>(s)] = 1.0 / static_cast<double>(out.neighbours[static_cast<size_t>(s)]);
    out.neff += out.weights[static_cast<size_t>(s)];
  }
  return out;
}

}  // namespace kfold::pipelines::agent

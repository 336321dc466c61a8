// TensorFlow's stateful random number generation, bit for bit: the Philox4x32-10 counter-based
// generator (Salmon et al. 2011), TF's graph/op seed rules and its uniform, shuffle and categorical
// samplers, as alphafold-colabfold's NumPy input pipeline reproduces them (model/tf/random_philox.py).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kfold::fold {

// One Philox4x32-10 block: 10 rounds on a 128-bit counter with a 64-bit key.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// The (graph seed, op seed) pair of one TF random op. The key is the graph seed; the op seed fills
// the upper half of the counter, whose lower 64 bits count 128-bit blocks.
struct PhiloxSeeds {
  uint64_t graph_seed = 0;
  uint64_t op_seed = 0;
};

// `n` 32-bit values of the block-major stream (4 per block) starting at block `start_block`.
std::vector<uint32_t> philox_stream(PhiloxSeeds seeds, int64_t n, uint64_t start_block = 0);

// TF's Uint32ToFloat: the low 23 bits as the mantissa of [1, 2), minus 1; a float in [0, 1).
float uint32_to_float(uint32_t x);
// TF's Uint64ToDouble: 20 low bits of `hi` and all of `lo` as the mantissa of [1, 2), minus 1.
double uint64_to_double(uint32_t hi, uint32_t lo);

// The samplers. `iteration` is the execution count of the op inside a tf.map_fn body (0 outside):
// each re-execution starts further along the counter exactly as TF reserves its outputs.

// tf.random.uniform(float32): n floats in [0, 1).
std::vector<float> tf_uniform_float(PhiloxSeeds seeds, int64_t n, int64_t iteration = 0);
// tf.random.uniform(int32, minval, maxval): minval + (x mod (maxval - minval)) in 32-bit arithmetic.
std::vector<int32_t> tf_uniform_int(PhiloxSeeds seeds, int64_t n, int32_t minval, int32_t maxval,
                                    int64_t iteration = 0);
// tf.random_shuffle of n items, as the permutation it applies: result[i] = input[perm[i]]
// (Fisher-Yates, swapping i with i + x_i mod (n - i)).
std::vector<int64_t> tf_random_shuffle(PhiloxSeeds seeds, int64_t n, int64_t iteration = 0);
// tf.random.categorical(logits, 1) for logits [n_rows, n_classes] (row-major, float64): per row,
// the first class whose running sum of exp(logit - max) exceeds u * total, u one uniform double.
std::vector<int32_t> tf_categorical(PhiloxSeeds seeds, std::span<const double> logits, int64_t n_rows,
                                    int64_t n_classes, int64_t iteration = 0);

// A graph's seed state (tf.compat.v1.set_random_seed + random_seed.get_seed in graph mode): each
// random op without an explicit op seed takes the next value of a counter 0, 1, 2, ...; seeds are
// reduced modulo 2^31 - 1 and the pair (0, 0) becomes (0, 2^31 - 1).
class TfRandomGraph {
 public:
  explicit TfRandomGraph(int64_t seed) : seed_(seed) {}

  // Seeds for the next op (consuming one counter value unless `op_seed` is given).
  PhiloxSeeds next_seeds(std::optional<int64_t> op_seed = std::nullopt);
  // Emulates tf.map_fn's body: op counter back to 0, and the body's execution count.
  void start_map_fn_iteration(int64_t iteration) {
    op_counter_ = 0;
    iteration_ = iteration;
  }
  int64_t iteration() const { return iteration_; }
  int64_t op_counter() const { return op_counter_; }

  std::vector<float> uniform_float(int64_t n) { return tf_uniform_float(next_seeds(), n, iteration_); }
  std::vector<int64_t> random_shuffle(int64_t n) { return tf_random_shuffle(next_seeds(), n, iteration_); }
  std::vector<int32_t> categorical(std::span<const double> logits, int64_t n_rows, int64_t n_classes) {
    return tf_categorical(next_seeds(), logits, n_rows, n_classes, iteration_);
  }

 private:
  int64_t seed_;
  int64_t op_counter_ = 0;
  int64_t iteration_ = 0;
};

}  // namespace kfold::fold

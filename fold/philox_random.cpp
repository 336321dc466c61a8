// Philox4x32-10 and TensorFlow's samplers built on it (see philox_random.hpp).
#include "fold/philox_random.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "data/error.hpp"

namespace kfold::fold {

namespace {

constexpr uint32_t kMultiplierA = 0xD2511F53u;  // Philox round multipliers
constexpr uint32_t kMultiplierB = 0xCD9E8D57u;
constexpr uint32_t kWeylA = 0x9E3779B9u;  // key schedule increments (golden ratio, sqrt(3) - 1)
constexpr uint32_t kWeylB = 0xBB67AE85u;
constexpr int64_t kMaxInt32 = 2147483647;
// TF reserves this many 128-bit blocks per output element when a uniform or categorical op runs
// (GuardedPhiloxRandom::ReserveRandomOutputs(n, 256)).
constexpr uint64_t kBlocksPerOutput = 256;

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> key) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(c[0]) * kMultiplierA;
    const uint64_t p1 = static_cast<uint64_t>(c[2]) * kMultiplierB;
    const auto lo0 = static_cast<uint32_t>(p0), hi0 = static_cast<uint32_t>(p0 >> 32);
    const auto lo1 = static_cast<uint32_t>(p1), hi1 = static_cast<uint32_t>(p1 >> 32);
    c = {hi1 ^ c[1] ^ key[0], lo1, hi0 ^ c[3] ^ key[1], lo0};
    key[0] += kWeylA;
    key[1] += kWeylB;
  }
  return c;
}

std::vector<uint32_t> philox_stream(PhiloxSeeds seeds, int64_t n, uint64_t start_block) {
  std::vector<uint32_t> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  const std::array<uint32_t, 2> key{static_cast<uint32_t>(seeds.graph_seed),
                                    static_cast<uint32_t>(seeds.graph_seed >> 32)};
  for (size_t i = 0; i < out.size(); i += 4) {
    const uint64_t block = start_block + i / 4;
    const auto values =
        philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                       static_cast<uint32_t>(seeds.op_seed), static_cast<uint32_t>(seeds.op_seed >> 32)},
                      key);
    for (size_t k = 0; k < 4 && i + k < out.size(); ++k) out[i + k] = values[k];
  }
  return out;
}

float uint32_to_float(uint32_t x) { return std::bit_cast<float>(0x3F800000u | (x & 0x7FFFFFu)) - 1.0f; }

double uint64_to_double(uint32_t hi, uint32_t lo) {
  const uint64_t mantissa = (static_cast<uint64_t>(hi & 0xFFFFFu) << 32) | lo;
  return std::bit_cast<double>((uint64_t{1023} << 52) | mantissa) - 1.0;
}

std::vector<float> tf_uniform_float(PhiloxSeeds seeds, int64_t n, int64_t iteration) {
  const auto bits =
      philox_stream(seeds, n, static_cast<uint64_t>(iteration) * static_cast<uint64_t>(n) * kBlocksPerOutput);
  std::vector<float> out(bits.size());
  std::transform(bits.begin(), bits.end(), out.begin(), uint32_to_float);
  return out;
}

std::vector<int32_t> tf_uniform_int(PhiloxSeeds seeds, int64_t n, int32_t minval, int32_t maxval, int64_t iteration) {
  const uint32_t lo = static_cast<uint32_t>(minval);
  const uint32_t range = static_cast<uint32_t>(maxval) - lo;
  if (range == 0) fail_internal("tf_uniform_int: minval ({}) must differ from maxval", minval);
  const auto bits =
      philox_stream(seeds, n, static_cast<uint64_t>(iteration) * static_cast<uint64_t>(n) * kBlocksPerOutput);
  std::vector<int32_t> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = static_cast<int32_t>(lo + bits[i] % range);
  return out;
}

std::vector<int64_t> tf_random_shuffle(PhiloxSeeds seeds, int64_t n, int64_t iteration) {
  std::vector<int64_t> perm(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  if (n <= 1) return perm;
  // One 32-bit draw per swap; a re-execution skips the blocks the previous one used.
  const auto bits =
      philox_stream(seeds, n - 1, static_cast<uint64_t>(iteration) * static_cast<uint64_t>((n - 1 + 3) / 4));
  for (int64_t i = 0; i + 1 < n; ++i) {
    const auto j = i + static_cast<int64_t>(bits[static_cast<size_t>(i)] % static_cast<uint32_t>(n - i));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return perm;
}

std::vector<int32_t> tf_categorical(PhiloxSeeds seeds, std::span<const double> logits, int64_t n_rows,
                                    int64_t n_classes, int64_t iteration) {
  if (static_cast<int64_t>(logits.size()) != n_rows * n_classes)
    fail_internal("tf_categorical: {} logits for {} rows of {} classes", logits.size(), n_rows, n_classes);
  // Two 32-bit draws per sample; TF reserves ceil(samples / 4) * 4 * 2 outputs per row.
  constexpr uint64_t kReservedPerRow = 8;  // for one sample per row
  const auto bits = philox_stream(
      seeds, 2 * n_rows,
      static_cast<uint64_t>(iteration) * static_cast<uint64_t>(n_rows) * kReservedPerRow * kBlocksPerOutput);
  std::vector<int32_t> out(static_cast<size_t>(n_rows), 0);
  std::vector<double> cdf(static_cast<size_t>(n_classes));
  for (int64_t r = 0; r < n_rows; ++r) {
    const double* row = logits.data() + r * n_classes;
    const double max_logit = *std::max_element(row, row + n_classes);
    double total = 0.0;
    for (int64_t c = 0; c < n_classes; ++c) {
      total += std::exp(row[c] - max_logit);
      cdf[static_cast<size_t>(c)] = total;
    }
    const double to_find =
        uint64_to_double(bits[static_cast<size_t>(2 * r)], bits[static_cast<size_t>(2 * r + 1)]) * total;
    // First class whose running total exceeds to_find (0 when none does, as an argmax of all-false).
    const auto it = std::upper_bound(cdf.begin(), cdf.end(), to_find);
    out[static_cast<size_t>(r)] = it == cdf.end() ? 0 : static_cast<int32_t>(it - cdf.begin());
  }
  return out;
}

PhiloxSeeds TfRandomGraph::next_seeds(std::optional<int64_t> op_seed) {
  const int64_t op = op_seed ? *op_seed : op_counter_++;
  // Python's modulo (non-negative for a positive divisor), as random_seed.get_seed.
  const auto py_mod = [](int64_t a) { return ((a % kMaxInt32) + kMaxInt32) % kMaxInt32; };
  PhiloxSeeds seeds{static_cast<uint64_t>(py_mod(seed_)), static_cast<uint64_t>(py_mod(op))};
  if (seeds.graph_seed == 0 && seeds.op_seed == 0) seeds.op_seed = kMaxInt32;
  return seeds;
}

}  // namespace kfold::fold

// Throughput of the Smith-Waterman kernels (cells per second) on random sequences; not a test.
//   bench_striped_sw [query_length] [targets] [target_length]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "msa/reference_alignment.hpp"
#include "msa/score_profile.hpp"
#include "msa/striped_sw.hpp"

using namespace kfold;

int main(int argc, char** argv) {
  const int64_t q_len = argc > 1 ? std::atoll(argv[1]) : 300;
  const int64_t n_targets = argc > 2 ? std::atoll(argv[2]) : 2000;
  const int64_t t_len = argc > 3 ? std::atoll(argv[3]) : 350;
  std::mt19937_64 rng(1);
  const std::string query = test::random_protein(rng, q_len);
  std::vector<std::vector<uint8_t>> targets(static_cast<size_t>(n_targets));
  for (auto& t : targets) msa::encode_residues(test::random_protein(rng, t_len), t);
  const auto profile = msa::make_sequence_profile(query, msa::blosum62());
  for (const auto level :
       {msa::SimdLevel::scalar, msa::SimdLevel::sse2, msa::SimdLevel::avx2, msa::SimdLevel::avx512}) {
    if (!msa::simd_level_supported(level)) continue;
    msa::StripedAligner aligner(profile, {}, level);
    const int64_t n = level == msa::SimdLevel::scalar ? n_targets / 10 : n_targets;
    int64_t checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) checksum += aligner.score(targets[static_cast<size_t>(i)]);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cells = static_cast<double>(q_len) * static_cast<double>(t_len) * static_cast<double>(n);
    fmt::print("{:<7} query {} x {} targets of {}: {:.3f} s, {:.2f} Gcells/s (checksum {})\n",
               msa::simd_level_name(level), q_len, n, t_len, seconds, cells / seconds / 1e9, checksum);
  }
  return 0;
}

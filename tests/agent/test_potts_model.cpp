// Potts model: analytic gradient against finite differences, a planted coupling found by APC scores,
// thread-count independence of the fit, Hamiltonian differences against full energies, the AVX2 and
// baseline copies of the objective.
#include <doctest/doctest.h>

#include <cmath>

#include "data/cpu_capability.hpp"
#include "pipelines/agent/family_alignment.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/potts_model.hpp"
#include "pipelines/agent/sequence_weights.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

// Random alignment [n_seq, n_col] from a splitmix64 stream; column `to` copies column `from` through a
// fixed permutation with probability `p_copy` (a planted coupling), when from >= 0.
FamilyAlignment random_alignment(int64_t n_seq, int64_t n_col, uint64_t seed, int64_t from = -1, int64_t to = -1,
                                 double p_copy = 0.0, int64_t alphabet = 21) {
  SplitMix64 rng(seed);
  FamilyAlignment a;
  a.source = "random";
  a.n_seq = n_seq;
  a.n_col = n_col;
  for (int64_t c = 0; c < n_col; ++c) a.column_residue.push_back(c + 1);
  a.states.resize(static_cast<size_t>(n_seq * n_col));
  for (int64_t s = 0; s < n_seq; ++s) {
    for (int64_t c = 0; c < n_col; ++c) {
      a.states[static_cast<size_t>(s * n_col + c)] = static_cast<uint8_t>(rng.below(static_cast<uint64_t>(alphabet)));
    }
    if (from >= 0 && static_cast<double>(rng.below(1000000)) < p_copy * 1e6) {
      const uint8_t x = a.states[static_cast<size_t>(s * n_col + from)];
      a.states[static_cast<size_t>(s * n_col + to)] = static_cast<uint8_t>((x * 7 + 3) % alphabet);
    }
  }
  return a;
}

}  // namespace

TEST_CASE("potts: analytic gradient matches central finite differences (|diff| <= 5e-3 + 1e-3 |g|)") {
  const FamilyAlignment a = random_alignment(30, 5, 42);
  const SequenceWeights w = compute_sequence_weights(a, 0.8, 1);
  PottsPseudoLikelihood objective(a, w.weights, 0.05, 0.1, 1);
  const int64_t n = objective.n_params();
  CHECK(n == 5 * 21 + 10 * 441);
  SplitMix64 rng(7);
  std::vector<float> x(static_cast<size_t>(n));
  // Values on a grid of 2^-7 so that x +- eps (eps = 2^-6) are exact floats.
  for (auto& v : x) v = static_cast<float>(static_cast<int64_t>(rng.below(129)) - 64) / 128.0f;
  std::vector<float> g;
  const double f0 = objective.evaluate(x, g);
  CHECK(std::isfinite(f0));
  const float eps = 1.0f / 64.0f;
  std::vector<float> scratch;
  int64_t checked = 0;
  for (int64_t trial = 0; trial < 120; ++trial) {
    // Every field, then random couplings (many of them with states that occur in the data).
    const int64_t k = trial < 105 ? trial : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
    std::vector<float> xp = x;
    std::vector<float> xm = x;
    xp[static_cast<size_t>(k)] += eps;
    xm[static_cast<size_t>(k)] -= eps;
    const double fd = (objective.evaluate(xp, scratch) - objective.evaluate(xm, scratch)) / (2.0 * eps);
    const double an = g[static_cast<size_t>(k)];
    CAPTURE(k);
    CHECK(std::fabs(fd - an) <= 5e-3 + 1e-3 * std::fabs(an));
    ++checked;
  }
  // Couplings that the data uses: J_01(x_s0, x_s1) for the first sequences.
  for (int64_t s = 0; s < 10; ++s) {
    const int64_t k = potts_pair_offset(5, 0, 1) + a.state(s, 0) * 21 + a.state(s, 1);
    std::vector<float> xp = x;
    std::vector<float> xm = x;
    xp[static_cast<size_t>(k)] += eps;
    xm[static_cast<size_t>(k)] -= eps;
    const double fd = (objective.evaluate(xp, scratch) - objective.evaluate(xm, scratch)) / (2.0 * eps);
    CHECK(std::fabs(fd - g[static_cast<size_t>(k)]) <= 5e-3 + 1e-3 * std::fabs(g[static_cast<size_t>(k)]));
    ++checked;
  }
  CHECK(checked == 130);
}

TEST_CASE("potts: a planted coupling ranks first by APC score") {
  // 12 columns over 6 states; column 9 copies column 2 (permuted) in 80% of 500 sequences.
  const FamilyAlignment a = random_alignment(500, 12, 3, 2, 9, 0.8, 6);
  const SequenceWeights w = compute_sequence_weights(a, 0.8, 2);
  PottsFitOptions o;
  o.max_iterations = 60;
  o.threads = 2;
  const PottsModel m = fit_potts_model(a, w, o);
  const auto scores = coupling_scores(m);
  REQUIRE(scores.size() == 66u);
  CHECK(scores[0].i == 2);
  CHECK(scores[0].j == 9);
  CHECK(scores[0].apc > 3.0 * std::fabs(scores[1].apc));  // by a wide margin
  // Independent pairs: scores sorted, second much smaller.
  for (size_t k = 1; k < scores.size(); ++k) CHECK(scores[k - 1].apc >= scores[k].apc);
}

TEST_CASE("potts: 1 and 2 threads give bit-identical parameters, dE matches energy differences (1e-4)") {
  const FamilyAlignment a = read_family_alignment(kfold::test::source_dir() / "tests/fixtures/agent/synthetic.a2m");
  const SequenceWeights w1 = compute_sequence_weights(a, 0.8, 1);
  const SequenceWeights w2 = compute_sequence_weights(a, 0.8, 2);
  CHECK(w1.weights == w2.weights);
  PottsFitOptions o;
  o.max_iterations = 15;
  o.threads = 1;
  const PottsModel m1 = fit_potts_model(a, w1, o);
  o.threads = 2;
  const PottsModel m2 = fit_potts_model(a, w2, o);
  CHECK(m1.fit.iterations == m2.fit.iterations);
  CHECK(m1.params == m2.params);  // bitwise: fixed reduction order
  CHECK(m1.fit.objective == m2.fit.objective);
  CHECK(m1.lambda_J_used == doctest::Approx(0.01 * 20 * 39));

  const uint8_t* wt = a.row(0);
  std::vector<uint8_t> mut(wt, wt + a.n_col);
  const std::vector<std::pair<int64_t, uint8_t>> muts = {
      {3, static_cast<uint8_t>((wt[3] + 5) % 20)}, {11, static_cast<uint8_t>((wt[11] + 2) % 20)}, {30, kGapState}};
  for (const auto& [c, s] : muts) mut[static_cast<size_t>(c)] = s;
  const double direct = m1.energy(mut.data()) - m1.energy(wt);
  CHECK(m1.delta_energy(wt, muts) == doctest::Approx(direct).epsilon(1e-4));
  const double single = m1.energy(mut.data()) * 0.0 + m1.delta_energy(wt, {muts[0]});
  std::vector<uint8_t> one(wt, wt + a.n_col);
  one[3] = muts[0].second;
  CHECK(single == doctest::Approx(m1.energy(one.data()) - m1.energy(wt)).epsilon(1e-4));
  // The fit lowers the objective from its start.
  CHECK(m1.fit.iterations == 15);
}

TEST_CASE("potts: the AVX2 and baseline copies of the objective give the same value and gradient (bitwise)") {
  // Lane-wise vector arithmetic in the same order, and the AVX2 copy has no FMA to contract into (and the
  // file is compiled with -ffp-contract=off): the two copies round alike. (glibc's log, which both call,
  // may still pick another code path on another CPU.)
  using kfold::data::CpuCapability;
  if (kfold::data::cpu_capability_supported() < CpuCapability::avx2) return;
  struct RestoreLevel {
    ~RestoreLevel() { kfold::data::set_cpu_capability_limit(CpuCapability::avx512); }
  } restore;
  const FamilyAlignment a = random_alignment(70, 13, 5);
  const SequenceWeights w = compute_sequence_weights(a, 0.8, 1);
  PottsPseudoLikelihood objective(a, w.weights, 0.05, 0.1, 2);
  SplitMix64 rng(11);
  std::vector<float> x(static_cast<size_t>(objective.n_params()));
  for (auto& v : x) v = static_cast<float>(static_cast<int64_t>(rng.below(201)) - 100) / 64.0f;
  std::vector<float> g_avx2, g_baseline;
  kfold::data::set_cpu_capability_limit(CpuCapability::avx2);
  const double f_avx2 = objective.evaluate(x, g_avx2);
  kfold::data::set_cpu_capability_limit(CpuCapability::baseline);
  const double f_baseline = objective.evaluate(x, g_baseline);
  CHECK(f_avx2 == f_baseline);
  CHECK(g_avx2 == g_baseline);
}

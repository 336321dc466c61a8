// Weighted pseudo-likelihood of a Potts model and its gradient, parallel over columns, deterministic.
#include "pipelines/agent/potts_pseudo_likelihood.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/cpu_capability.hpp"

namespace kfold::pipelines::agent {

namespace {

// The helpers below take and return 32-byte vectors; they are always inlined into site_objective (forced: at
// -O0 an out-of-line copy has the baseline ABI, which the AVX2 copy calls with its arguments in the wrong
// registers: a Debug build crashed), so GCC's note that such an ABI differs without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

// States of the column's own residue are padded from 21 to 24 floats (three vectors of 8) so that the
// inner loops run over whole SIMD vectors; the padding stays zero.
constexpr int64_t kPad = 24;

// Eight floats as one value (GCC/Clang vector extension): AVX registers in the AVX2 copy, pairs of SSE
// registers in the baseline one. Keeps the 24 running sums of a column in registers.
typedef float Vec8 __attribute__((vector_size(32)));
typedef int32_t Int8 __attribute__((vector_size(32)));

[[gnu::always_inline]] inline Vec8 load8(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
[[gnu::always_inline]] inline void store8(float* p, Vec8 v) { std::memcpy(p, &v, sizeof(v)); }

// exp(x) for x <= 0, elementwise: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2, a degree-6
// Taylor polynomial for exp(r) (relative error < 2e-7), and 2^n put into the exponent bits. x below
// -87 gives 0's neighbourhood (exp(-87) ~ 1.6e-38), which is what a probability that small rounds to.
[[gnu::always_inline]] inline Vec8 exp8(Vec8 x) {
  x = x < -87.0f ? Vec8{} - 87.0f : x;
  const Vec8 n =
      __builtin_convertvector(__builtin_convertvector(x * 1.44269504f + (x < 0.0f ? -0.5f : 0.5f), Int8), Vec8);
  Vec8 r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  Vec8 p = Vec8{} + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const Int8 bits = (__builtin_convertvector(n, Int8) + 127) << 23;
  Vec8 scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// One column i over all sequences. Jloc [n_col][21][kPad]: J_ij(a, b) at [j][b][a] (zero for j = i);
// hi [kPad]. Accumulates the gradient into Dloc (same layout) and dh [21]; returns the weighted negative
// log conditional likelihood. Compiled for AVX2 and for the baseline below: AVX2 without FMA, so that GCC
// contracts no a * b + c and both copies round alike (a fit does not depend on the CPU).
[[gnu::always_inline]] inline double site_objective(int64_t i, int64_t n_seq, int64_t n_col, const uint8_t* states,
                                                    const float* weights, const float* hi, const float* Jloc,
                                                    float* Dloc, double* dh) {
  double nll = 0.0;
  const Vec8 h0 = load8(hi);
  const Vec8 h1 = load8(hi + 8);
  const Vec8 h2 = load8(hi + 16);
  // Lanes 21..23 of the last vector are padding: masked out of the softmax.
  const Vec8 pad_mask = Vec8{0, 0, 0, 0, 0, 1, 1, 1} * -1e30f;
  alignas(32) float H[kPad];
  alignas(32) float G[kPad];
  for (int64_t s = 0; s < n_seq; ++s) {
    const uint8_t* x = states + s * n_col;
    // Potentials: two sets of running sums (even and odd j) to halve the dependency chains.
    Vec8 a0 = h0, a1 = h1, a2 = h2;
    Vec8 b0{}, b1{}, b2{};
    int64_t j = 0;
    for (; j + 1 < n_col; j += 2) {
      const float* r = Jloc + (j * kStates + x[j]) * kPad;
      const float* q = Jloc + ((j + 1) * kStates + x[j + 1]) * kPad;
      a0 += load8(r);
      a1 += load8(r + 8);
      a2 += load8(r + 16);
      b0 += load8(q);
      b1 += load8(q + 8);
      b2 += load8(q + 16);
    }
    if (j < n_col) {
      const float* r = Jloc + (j * kStates + x[j]) * kPad;
      a0 += load8(r);
      a1 += load8(r + 8);
      a2 += load8(r + 16);
    }
    a0 += b0;
    a1 += b1;
    a2 += b2 + pad_mask;
    store8(H, a0);
    store8(H + 8, a1);
    store8(H + 16, a2);
    float top = H[0];
    for (int64_t a = 1; a < kStates; ++a) top = std::max(top, H[a]);
    const Vec8 e0 = exp8(a0 - top);
    const Vec8 e1 = exp8(a1 - top);
    const Vec8 e2 = exp8(a2 - top);  // padding lanes: exp(-1e30) = 0
    store8(G, e0);
    store8(G + 8, e1);
    store8(G + 16, e2);
    double z = 0.0;
    for (int64_t a = 0; a < kStates; ++a) z += G[a];
    const float w = weights[s];
    const uint8_t xi = x[i];
    nll -= static_cast<double>(w) * (static_cast<double>(H[xi] - top) - std::log(z));
    const auto scale = static_cast<float>(w / z);
    Vec8 g0 = e0 * scale, g1 = e1 * scale, g2 = e2 * scale;  // w P(a)
    store8(G, g0);
    store8(G + 8, g1);
    store8(G + 16, g2);
    G[xi] -= w;  // w (P(a) - [a = x_i])
    g0 = load8(G);
    g1 = load8(G + 8);
    g2 = load8(G + 16);
    for (int64_t a = 0; a < kStates; ++a) dh[a] += G[a];
    for (int64_t k = 0; k < n_col; ++k) {
      float* row = Dloc + (k * kStates + x[k]) * kPad;
      store8(row, load8(row) + g0);
      store8(row + 8, load8(row + 8) + g1);
      store8(row + 16, load8(row + 16) + g2);
    }
  }
  return nll;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define KFOLD_TARGET_AVX2_NO_FMA __attribute__((target("avx2")))
#else
#define KFOLD_TARGET_AVX2_NO_FMA
#endif
KFOLD_TARGET_AVX2_NO_FMA double site_objective_avx2(int64_t i, int64_t n_seq, int64_t n_col, const uint8_t* states,
                                                    const float* weights, const float* hi, const float* Jloc,
                                                    float* Dloc, double* dh) {
  return site_objective(i, n_seq, n_col, states, weights, hi, Jloc, Dloc, dh);
}

double site_objective_baseline(int64_t i, int64_t n_seq, int64_t n_col, const uint8_t* states, const float* weights,
                               const float* hi, const float* Jloc, float* Dloc, double* dh) {
  return site_objective(i, n_seq, n_col, states, weights, hi, Jloc, Dloc, dh);
}

}  // namespace

PottsPseudoLikelihood::PottsPseudoLikelihood(const FamilyAlignment& alignment, const std::vector<double>& weights,
                                             double lambda_h, double lambda_J, int threads)
    : alignment_(alignment),
      weights_(weights.begin(), weights.end()),
      lambda_h_(lambda_h),
      lambda_J_(lambda_J),
      threads_(threads > 0 ? threads : omp_get_max_threads()),
      n_col_(alignment.n_col) {
  site_gradients_.assign(static_cast<size_t>(n_col_ * n_col_ * kStates * kPad), 0.0f);
  site_objective_.assign(static_cast<size_t>(n_col_), 0.0);
  field_gradients_.assign(static_cast<size_t>(n_col_ * kStates), 0.0);
}

double PottsPseudoLikelihood::evaluate(const std::vector<float>& x, std::vector<float>& g) {
  const int64_t L = n_col_;
  const bool avx2 = data::cpu_capability() >= data::CpuCapability::avx2;
  const int64_t block = L * kStates * kPad;
  g.assign(static_cast<size_t>(n_params()), 0.0f);
  // Per-thread couplings of one column, allocated here: an exception (out of memory) must not leave the
  // parallel region (std::terminate).
  coupling_scratch_.resize(static_cast<size_t>(threads_ * block));
#pragma omp parallel num_threads(threads_)
  {
    float* Jloc_data = coupling_scratch_.data() + omp_get_thread_num() * block;
    alignas(32) float hi[kPad];
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < L; ++i) {
      // Gather J_i. for this column: [j][x_j][state at i].
      std::fill(Jloc_data, Jloc_data + block, 0.0f);
      for (int64_t j = 0; j < L; ++j) {
        if (j == i) continue;
        float* dst = Jloc_data + j * kStates * kPad;
        if (i < j) {
          const float* src = x.data() + potts_pair_offset(L, i, j);  // [a_i][b_j]
          for (int64_t a = 0; a < kStates; ++a)
            for (int64_t b = 0; b < kStates; ++b) dst[b * kPad + a] = src[a * kStates + b];
        } else {
          const float* src = x.data() + potts_pair_offset(L, j, i);  // [b_j][a_i]
          for (int64_t b = 0; b < kStates; ++b)
            for (int64_t a = 0; a < kStates; ++a) dst[b * kPad + a] = src[b * kStates + a];
        }
      }
      for (int64_t a = 0; a < kPad; ++a) hi[a] = a < kStates ? x[static_cast<size_t>(potts_field_offset(i) + a)] : 0.0f;
      float* Dloc = site_gradients_.data() + i * block;
      std::fill(Dloc, Dloc + block, 0.0f);
      double* dh = field_gradients_.data() + i * kStates;
      std::fill(dh, dh + kStates, 0.0);
      site_objective_[static_cast<size_t>(i)] = (avx2 ? site_objective_avx2 : site_objective_baseline)(
          i, alignment_.n_seq, L, alignment_.states.data(), weights_.data(), hi, Jloc_data, Dloc, dh);
    }
    // Combine: dJ_ij(a, b) = D_i[j][b][a] + D_j[i][a][b], each pair by one thread in a fixed order.
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < L; ++i) {
      for (int64_t j = i + 1; j < L; ++j) {
        float* dst = g.data() + potts_pair_offset(L, i, j);
        const float* from_i = site_gradients_.data() + i * block + j * kStates * kPad;
        const float* from_j = site_gradients_.data() + j * block + i * kStates * kPad;
        for (int64_t a = 0; a < kStates; ++a)
          for (int64_t b = 0; b < kStates; ++b) dst[a * kStates + b] = from_i[b * kPad + a] + from_j[a * kPad + b];
      }
    }
  }
  double nll = 0.0;
  for (int64_t i = 0; i < L; ++i) nll += site_objective_[static_cast<size_t>(i)];
  // L2 penalties, in parameter order.
  double penalty = 0.0;
  const int64_t n_fields = L * kStates;
  for (int64_t k = 0; k < n_fields; ++k) {
    const double v = x[static_cast<size_t>(k)];
    penalty += lambda_h_ * v * v;
    g[static_cast<size_t>(k)] = static_cast<float>(field_gradients_[static_cast<size_t>(k)] + 2.0 * lambda_h_ * v);
  }
  const int64_t n = n_params();
  double penalty_J = 0.0;
  for (int64_t k = n_fields; k < n; ++k) {
    const float v = x[static_cast<size_t>(k)];
    penalty_J += static_cast<double>(v) * v;
    g[static_cast<size_t>(k)] += static_cast<float>(2.0 * lambda_J_) * v;
  }
  return nll + penalty + lambda_J_ * penalty_J;
}

}  // namespace kfold::pipelines::agent

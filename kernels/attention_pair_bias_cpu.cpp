// Fused CPU kernels of kfold::attention_pair_bias (forward and backward): cache-blocked online softmax,
// at::parallel_for over fixed tasks with per-thread scratch, fp32 accumulation (fp64 for double inputs).
// Every output element is computed by one task in a fixed order, so results do not depend on the
// thread count; the hot loops are compiled for x86-64-v4/v3/baseline and picked at each call
// (data/cpu_capability.hpp).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "data/cpu_capability.hpp"
#include "kernels/attention_pair_bias.hpp"

#define KFOLD_ALWAYS_INLINE inline __attribute__((always_inline))
#define KFOLD_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))

namespace kfold::kernels {

int attention_pair_bias_cpu_linked() { return 1; }

namespace {

constexpr int64_t kBlockQ = 32;  // queries per task
constexpr int64_t kBlockK = 64;  // keys per block (a [D, kBlockK] tile of k stays in L1)

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// exp for the softmax: Cephes-style polynomial (about 2 ulp), written so the compiler vectorises it;
// exactly 0 below -87.34 (where expf underflows), which covers the -1e9 of masked keys; NaN for NaN (a row
// whose bias is -inf at every key gives -inf + inf in the backward).
KFOLD_ALWAYS_INLINE float exp_acc(float x) {
  // Clamped with NaN to -87.34 (std::max returns its first argument for NaN): the int conversion of n below
  // is undefined behaviour for NaN.
  const float xc = std::min(88.0f, std::max(-87.33654f, x));
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln 2)
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const float two_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  const float e = x < -87.33654f ? 0.0f : y * two_n;
  return x == x ? e : x;
}
KFOLD_ALWAYS_INLINE double exp_acc(double x) { return std::exp(x); }

// A [B, R, S, H, D] tensor with arbitrary strides (in elements).
template <typename T>
struct Strided5 {
  T* data;
  int64_t sb, sr, ss, sh, sd;
  explicit Strided5(const at::Tensor& t)
      : data(static_cast<T*>(t.data_ptr())),
        sb(t.stride(0)),
        sr(t.stride(1)),
        ss(t.stride(2)),
        sh(t.stride(3)),
        sd(t.stride(4)) {}
  T* row(int64_t b, int64_t r, int64_t s, int64_t h) const { return data + b * sb + r * sr + s * ss + h * sh; }
};

struct Dims {
  int64_t B, R, S, H, D;
};

// 16 floats as one value (GCC vector extensions; one AVX-512 register, two AVX2 ones): the float paths keep
// their sums in such local values, which stay in registers where a local array is kept on the stack.
// Sixteen floats as 16 / kW vectors of kW lanes: kW = 16 in the AVX-512 copy, 8 in the AVX2 one, 4 (SSE2)
// in the baseline one (a 64-byte vector in the AVX2 copy went through the stack: 20x slower). Lane-wise
// arithmetic: each lane's sum runs in the same order for any kW (the copies differ only where one contracts
// a multiply-add into FMA and another cannot).
template <int kW>
struct Float16 {
  typedef float Lanes __attribute__((vector_size(kW * sizeof(float))));
  static constexpr int kN = 16 / kW;
  Lanes v[kN];

  static KFOLD_ALWAYS_INLINE Float16 splat(float x) {  // broadcast
    Float16 r;
    for (int i = 0; i < kN; ++i) r.v[i] = Lanes{} + x;
    return r;
  }
  // Unaligned loads and stores, a vector at a time (one 64-byte copy went through the stack with kW < 16).
  static KFOLD_ALWAYS_INLINE Float16 load(const float* p) {
    Float16 r;
    for (int i = 0; i < kN; ++i) std::memcpy(&r.v[i], p + i * kW, sizeof(Lanes));
    return r;
  }
  KFOLD_ALWAYS_INLINE void store(float* p) const {
    for (int i = 0; i < kN; ++i) std::memcpy(p + i * kW, &v[i], sizeof(Lanes));
  }
  KFOLD_ALWAYS_INLINE void add_product(const Float16& a, const Float16& b) {  // this += a * b
    for (int i = 0; i < kN; ++i) v[i] += a.v[i] * b.v[i];
  }
  KFOLD_ALWAYS_INLINE void operator+=(const Float16& a) {
    for (int i = 0; i < kN; ++i) v[i] += a.v[i];
  }
};

// s[j] = sum_d x[d] * tile[d, j] for the kBlockK columns of a [D, kBlockK] tile. The sums stay in a local
// array (in four Float16 accumulators for float) rather than in s, which the compiler cannot prove free of
// aliasing. Same sums, same order either way.
template <int kW, typename acc_t>
KFOLD_ALWAYS_INLINE void row_times_tile(const acc_t* x, const acc_t* tile, int64_t D, acc_t* s) {
  if constexpr (std::is_same_v<acc_t, float>) {
    static_assert(kBlockK == 64, "four 16-lane accumulators");
    Float16<kW> s0{}, s1{}, s2{}, s3{};
    for (int64_t d = 0; d < D; ++d) {
      const auto xd = Float16<kW>::splat(x[d]);
      const float* t = tile + d * kBlockK;
      s0.add_product(xd, Float16<kW>::load(t));
      s1.add_product(xd, Float16<kW>::load(t + 16));
      s2.add_product(xd, Float16<kW>::load(t + 32));
      s3.add_product(xd, Float16<kW>::load(t + 48));
    }
    s0.store(s);
    s1.store(s + 16);
    s2.store(s + 32);
    s3.store(s + 48);
  } else {
    acc_t sum[kBlockK] = {};
    for (int64_t d = 0; d < D; ++d) {
      const acc_t xd = x[d];
      const acc_t* t = tile + d * kBlockK;
#pragma omp simd
      for (int64_t j = 0; j < kBlockK; ++j) sum[j] += xd * t[j];
    }
    for (int64_t j = 0; j < kBlockK; ++j) s[j] = sum[j];
  }
}

// max_j s[j] over a whole block, lane-wise first so that it vectorises (a running std::max does not
// without -ffast-math); the maximum does not depend on the order.
template <typename acc_t>
KFOLD_ALWAYS_INLINE acc_t block_max(const acc_t* s) {
  constexpr int kLanes = 16;
  acc_t lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = s[l];
  for (int64_t j = kLanes; j < kBlockK; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = lane[l] < s[j + l] ? s[j + l] : lane[l];
  acc_t m = lane[0];
  for (int l = 1; l < kLanes; ++l) m = m < lane[l] ? lane[l] : m;
  return m;
}

// Loads keys [k0, k0 + nk) of one (b, r, h): as a zero-padded [D, kBlockK] tile and/or [kBlockK, D] rows.
template <typename scalar_t, typename acc_t>
KFOLD_ALWAYS_INLINE void load_keys(const Strided5<const scalar_t>& x, int64_t b, int64_t r, int64_t h, int64_t k0,
                                   int64_t nk, int64_t D, acc_t* tile, acc_t* rows) {
  if (tile != nullptr && nk < kBlockK) std::fill(tile, tile + D * kBlockK, acc_t(0));
  for (int64_t j = 0; j < nk; ++j) {
    const scalar_t* src = x.row(b, r, k0 + j, h);
    for (int64_t d = 0; d < D; ++d) {
      const acc_t value = static_cast<acc_t>(src[d * x.sd]);
      if (tile != nullptr) tile[d * kBlockK + j] = value;
      if (rows != nullptr) rows[j * D + d] = value;
    }
  }
}

template <typename scalar_t, typename acc_t>
KFOLD_ALWAYS_INLINE void load_row(const Strided5<const scalar_t>& x, int64_t b, int64_t r, int64_t s, int64_t h,
                                  int64_t D, acc_t scale, acc_t* dst) {
  const scalar_t* src = x.row(b, r, s, h);
  for (int64_t d = 0; d < D; ++d) dst[d] = static_cast<acc_t>(src[d * x.sd]) * scale;
}

// Logits of one query against keys [k0, k0 + nk): s = (q_scaled . k + mask_bias) + bias, in AlphaFold's
// order (a fully masked row's -1e9 absorbs q.k, not the pair bias); s[nk, kBlockK) = -inf (no key there).
template <int kW, typename acc_t>
KFOLD_ALWAYS_INLINE void logits_row(const acc_t* q_row, const acc_t* k_tile, const acc_t* bias_row,
                                    const acc_t* mask_row, int64_t nk, int64_t D, acc_t* s) {
  row_times_tile<kW>(q_row, k_tile, D, s);
  if (mask_row != nullptr) {
    for (int64_t j = 0; j < nk; ++j) s[j] += mask_row[j];
  }
  for (int64_t j = 0; j < nk; ++j) s[j] += bias_row[j];
  for (int64_t j = nk; j < kBlockK; ++j) s[j] = -std::numeric_limits<acc_t>::infinity();
}

template <typename scalar_t, typename acc_t>
struct ForwardArgs {
  Strided5<const scalar_t> q, k, v;
  const acc_t* bias;       // [B, H, S, S] contiguous
  const acc_t* mask_bias;  // [B, R, S] contiguous, or nullptr
  scalar_t* out;           // [B, R, S, H, D] contiguous
  acc_t* lse;              // [B, R, H, S] contiguous
  Dims n;
  acc_t scale;
};

// o[d] = o[d] * alpha + sum_j p[j] * v_rows[j, d] over nk keys. With the head dim known at compile time
// (kD > 0) the row of o stays in registers across the keys.
template <int kD, int kW, typename acc_t>
KFOLD_ALWAYS_INLINE void scale_add_probs_times_rows(acc_t* o, acc_t alpha, const acc_t* p, const acc_t* v_rows,
                                                    int64_t nk, int64_t D) {
  if constexpr (kD > 0 && kD % 16 == 0 && std::is_same_v<acc_t, float>) {
    // Float16 accumulators, kSplit per part of the row (key j goes to j % kSplit), so that consecutive
    // multiply-adds do not wait for each other; summed in a fixed order at the end.
    constexpr int kV = kD / 16, kSplit = kV >= 8 ? 1 : 8 / kV;
    Float16<kW> acc[kSplit][kV] = {};
    const auto add = [&](int split, int64_t j) KFOLD_ALWAYS_INLINE_LAMBDA {
      const auto pj = Float16<kW>::splat(p[j]);
#pragma GCC unroll 8
      for (int part = 0; part < kV; ++part)
        acc[split][part].add_product(pj, Float16<kW>::load(v_rows + j * kD + 16 * part));
    };
    int64_t j = 0;
    for (; j + kSplit <= nk; j += kSplit) {
#pragma GCC unroll 8
      for (int split = 0; split < kSplit; ++split) add(split, j + split);
    }
    for (; j < nk; ++j) add(0, j);
#pragma GCC unroll 8
    for (int part = 0; part < kV; ++part) {
      Float16<kW> sum = acc[0][part];
#pragma GCC unroll 8
      for (int split = 1; split < kSplit; ++split) sum += acc[split][part];
      sum.add_product(Float16<kW>::load(o + 16 * part), Float16<kW>::splat(alpha));  // o * alpha + sum
      sum.store(o + 16 * part);
    }
  } else if constexpr (kD > 0) {
    acc_t row[kD];
    for (int d = 0; d < kD; ++d) row[d] = o[d] * alpha;
    for (int64_t j = 0; j < nk; ++j) {
      const acc_t pj = p[j];
      const acc_t* vr = v_rows + j * kD;
#pragma omp simd
      for (int d = 0; d < kD; ++d) row[d] += pj * vr[d];
    }
    for (int d = 0; d < kD; ++d) o[d] = row[d];
  } else {
    for (int64_t d = 0; d < D; ++d) o[d] *= alpha;
    for (int64_t j = 0; j < nk; ++j) {
      const acc_t pj = p[j];
      const acc_t* vr = v_rows + j * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) o[d] += pj * vr[d];
    }
  }
}

// Tasks are (b, r, h, query block), query block fastest. kD: the head dim when fixed at compile time
// (16, 32, 64: AlphaFold's), else 0.
template <typename scalar_t, typename acc_t, int kD, int kW>
KFOLD_ALWAYS_INLINE void forward_tasks(const ForwardArgs<scalar_t, acc_t>& a, int64_t begin, int64_t end) {
  const auto [B, R, S, H, D_arg] = a.n;
  (void)B;
  const int64_t D = kD > 0 ? kD : D_arg;
  const int64_t n_qblk = ceil_div(S, kBlockQ);
  std::vector<acc_t> q_blk(kBlockQ * D), k_tile(D * kBlockK), v_rows(kBlockK * D), s(kBlockK);
  std::vector<acc_t> acc(kBlockQ * D), m(kBlockQ), l(kBlockQ);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t qb = task % n_qblk, h = (task / n_qblk) % H, r = (task / (n_qblk * H)) % R,
                  b = task / (n_qblk * H * R);
    const int64_t q0 = qb * kBlockQ, nq = std::min(kBlockQ, S - q0);
    for (int64_t i = 0; i < nq; ++i) load_row(a.q, b, r, q0 + i, h, D, a.scale, &q_blk[i * D]);
    std::fill(acc.begin(), acc.end(), acc_t(0));
    std::fill(m.begin(), m.end(), -std::numeric_limits<acc_t>::infinity());
    std::fill(l.begin(), l.end(), acc_t(0));
    const acc_t* mask_bh = a.mask_bias != nullptr ? a.mask_bias + (b * R + r) * S : nullptr;
    for (int64_t k0 = 0; k0 < S; k0 += kBlockK) {
      const int64_t nk = std::min(kBlockK, S - k0);
      load_keys(a.k, b, r, h, k0, nk, D, k_tile.data(), static_cast<acc_t*>(nullptr));
      load_keys(a.v, b, r, h, k0, nk, D, static_cast<acc_t*>(nullptr), v_rows.data());
      for (int64_t i = 0; i < nq; ++i) {
        acc_t* sp = s.data();
        const acc_t* bias_row = a.bias + ((b * H + h) * S + q0 + i) * S + k0;
        logits_row<kW>(&q_blk[i * D], k_tile.data(), bias_row, mask_bh != nullptr ? mask_bh + k0 : nullptr, nk, D, sp);
        const acc_t m_new = std::max(m[i], block_max(sp));
        // Keys so far all -inf (a -inf pair bias): shifted by 0, so that every p is 0, not exp(-inf + inf).
        const acc_t shift = m_new == -std::numeric_limits<acc_t>::infinity() ? acc_t(0) : m_new;
        const acc_t alpha = exp_acc(m[i] - shift);  // 0 on the first block (m = -inf)
        acc_t sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < nk; ++j) {
          sp[j] = exp_acc(sp[j] - shift);
          sum += sp[j];
        }
        l[i] = l[i] * alpha + sum;
        m[i] = m_new;
        scale_add_probs_times_rows<kD, kW>(&acc[i * D], alpha, sp, v_rows.data(), nk, D);
      }
    }
    for (int64_t i = 0; i < nq; ++i) {
      const acc_t inv = acc_t(1) / l[i];
      scalar_t* dst = a.out + (((b * R + r) * S + q0 + i) * H + h) * D;
      for (int64_t d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(acc[i * D + d] * inv);
      a.lse[((b * R + r) * H + h) * S + q0 + i] = m[i] + std::log(l[i]);
    }
  }
}

template <typename scalar_t, typename acc_t>
struct BackwardArgs {
  Strided5<const scalar_t> q, k, v, grad_out;
  const acc_t* bias;         // [B, H, S, S] contiguous
  const acc_t* mask_bias;    // [B, R, S] contiguous, or nullptr
  const acc_t* row_max;      // [B, R, H, S]: lse, or the row max where |lse| is large (exact_row_stats)
  const acc_t* row_log_sum;  // [B, R, H, S]: 0, or log sum exp(s - row_max) there
  const acc_t* delta;        // [B, R, H, S]: sum_d grad_out * out - grad_lse
  scalar_t* grad_q;          // [B, R, S, H, D] contiguous
  scalar_t* grad_k;
  scalar_t* grad_v;
  acc_t* grad_bias;  // [B, H, S, S] contiguous
  Dims n;
  acc_t scale;
};

constexpr int64_t kBlockI = 8;  // queries per step of the dk/dv accumulation

// rows[j, :] += sum_i coef[i, j] * x[i, :] for ni <= kBlockI queries i (coef: [kBlockI, kBlockK], x:
// [kBlockI, D]) and nk keys j; the sum over i runs in order, and with the head dim known at compile time
// the row stays in registers across the queries.
template <int kD, int kW, typename acc_t>
KFOLD_ALWAYS_INLINE void accumulate_outer(acc_t* rows, const acc_t* coef, const acc_t* x, int64_t ni, int64_t nk,
                                          int64_t D) {
  int64_t j = 0;
  if constexpr (kD > 0 && kD % 16 == 0 && std::is_same_v<acc_t, float>) {
    // kKeys rows at a time in Float16 registers: independent multiply-add chains, each element still
    // summed over i in order (the same result as one row at a time).
    constexpr int kV = kD / 16, kKeys = kV >= 4 ? 2 : 8 / kV;
    Float16<kW> acc[kKeys][kV];
    for (; j + kKeys <= nk; j += kKeys) {
      for (int key = 0; key < kKeys; ++key)  // kKeys consecutive rows
        for (int part = 0; part < kV; ++part) acc[key][part] = Float16<kW>::load(rows + (j + key) * kD + 16 * part);
      for (int64_t i = 0; i < ni; ++i) {
#pragma GCC unroll 8
        for (int key = 0; key < kKeys; ++key) {
          const auto c = Float16<kW>::splat(coef[i * kBlockK + j + key]);
#pragma GCC unroll 8
          for (int part = 0; part < kV; ++part)
            acc[key][part].add_product(c, Float16<kW>::load(x + i * kD + 16 * part));
        }
      }
      for (int key = 0; key < kKeys; ++key)
        for (int part = 0; part < kV; ++part) acc[key][part].store(rows + (j + key) * kD + 16 * part);
    }
  }
  for (; j < nk; ++j) {
    acc_t* dst = rows + j * D;
    if constexpr (kD > 0) {
      acc_t row[kD];
      for (int d = 0; d < kD; ++d) row[d] = dst[d];
      for (int64_t i = 0; i < ni; ++i) {
        const acc_t c = coef[i * kBlockK + j];
        const acc_t* xi = x + i * kD;
#pragma omp simd
        for (int d = 0; d < kD; ++d) row[d] += c * xi[d];
      }
      for (int d = 0; d < kD; ++d) dst[d] = row[d];
    } else {
      for (int64_t i = 0; i < ni; ++i) {
        const acc_t c = coef[i * kBlockK + j];
        const acc_t* xi = x + i * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) dst[d] += c * xi[d];
      }
    }
  }
}

// Pass 1: grad_k, grad_v and grad_bias. Tasks are (b, h, key block); each loops over every row r and
// query i in a fixed order, so it owns its grad_bias columns and its grad_k / grad_v rows. Queries go in
// steps of kBlockI: probabilities and logit gradients first, then the dk / dv rows.
template <typename scalar_t, typename acc_t, int kD, int kW>
KFOLD_ALWAYS_INLINE void backward_kv_tasks(const BackwardArgs<scalar_t, acc_t>& a, int64_t begin, int64_t end) {
  const auto [B, R, S, H, D_arg] = a.n;
  (void)B;
  const int64_t D = kD > 0 ? kD : D_arg;
  const int64_t n_kblk = ceil_div(S, kBlockK);
  std::vector<acc_t> k_tile(D * kBlockK), v_tile(D * kBlockK), q_blk(kBlockI * D), go_blk(kBlockI * D);
  std::vector<acc_t> p_blk(kBlockI * kBlockK), ds_blk(kBlockI * kBlockK);
  std::vector<acc_t> grad_k(kBlockK * D), grad_v(kBlockK * D), grad_bias(S * kBlockK);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t kb = task % n_kblk, h = (task / n_kblk) % H, b = task / (n_kblk * H);
    const int64_t k0 = kb * kBlockK, nk = std::min(kBlockK, S - k0);
    std::fill(grad_bias.begin(), grad_bias.end(), acc_t(0));
    for (int64_t r = 0; r < R; ++r) {
      load_keys(a.k, b, r, h, k0, nk, D, k_tile.data(), static_cast<acc_t*>(nullptr));
      load_keys(a.v, b, r, h, k0, nk, D, v_tile.data(), static_cast<acc_t*>(nullptr));
      std::fill(grad_k.begin(), grad_k.end(), acc_t(0));
      std::fill(grad_v.begin(), grad_v.end(), acc_t(0));
      const acc_t* mask_row = a.mask_bias != nullptr ? a.mask_bias + (b * R + r) * S + k0 : nullptr;
      for (int64_t i0 = 0; i0 < S; i0 += kBlockI) {
        const int64_t ni = std::min(kBlockI, S - i0);
        for (int64_t ii = 0; ii < ni; ++ii) {
          const int64_t i = i0 + ii;
          acc_t* q_row = &q_blk[ii * D];
          acc_t* go_row = &go_blk[ii * D];
          acc_t* p = &p_blk[ii * kBlockK];
          acc_t* ds = &ds_blk[ii * kBlockK];
          load_row(a.q, b, r, i, h, D, a.scale, q_row);
          load_row(a.grad_out, b, r, i, h, D, acc_t(1), go_row);
          const int64_t row = ((b * R + r) * H + h) * S + i;
          const acc_t row_max = a.row_max[row], row_log_sum = a.row_log_sum[row], delta = a.delta[row];
          logits_row<kW>(q_row, k_tile.data(), a.bias + ((b * H + h) * S + i) * S + k0, mask_row, nk, D, p);
          row_times_tile<kW>(go_row, v_tile.data(), D, ds);
          acc_t* gb = &grad_bias[i * kBlockK];
#pragma omp simd
          for (int64_t j = 0; j < nk; ++j) {
            p[j] = exp_acc((p[j] - row_max) - row_log_sum);
            ds[j] = p[j] * (ds[j] - delta);  // grad of the logit
            gb[j] += ds[j];
          }
        }
        accumulate_outer<kD, kW>(grad_v.data(), p_blk.data(), go_blk.data(), ni, nk, D);
        accumulate_outer<kD, kW>(grad_k.data(), ds_blk.data(), q_blk.data(), ni, nk, D);  // q is already scaled
      }
      for (int64_t j = 0; j < nk; ++j) {
        const int64_t offset = (((b * R + r) * S + k0 + j) * H + h) * D;
        for (int64_t d = 0; d < D; ++d) {
          a.grad_k[offset + d] = static_cast<scalar_t>(grad_k[j * D + d]);
          a.grad_v[offset + d] = static_cast<scalar_t>(grad_v[j * D + d]);
        }
      }
    }
    for (int64_t i = 0; i < S; ++i) {
      acc_t* dst = a.grad_bias + ((b * H + h) * S + i) * S + k0;
      for (int64_t j = 0; j < nk; ++j) dst[j] = grad_bias[i * kBlockK + j];
    }
  }
}

// Pass 2: grad_q. Tasks are (b, r, h, query block) like the forward; logits are recomputed.
template <typename scalar_t, typename acc_t, int kD, int kW>
KFOLD_ALWAYS_INLINE void backward_q_tasks(const BackwardArgs<scalar_t, acc_t>& a, int64_t begin, int64_t end) {
  const auto [B, R, S, H, D_arg] = a.n;
  (void)B;
  const int64_t D = kD > 0 ? kD : D_arg;
  const int64_t n_qblk = ceil_div(S, kBlockQ);
  std::vector<acc_t> q_blk(kBlockQ * D), go_blk(kBlockQ * D), k_tile(D * kBlockK), k_rows(kBlockK * D),
      v_tile(D * kBlockK), s(kBlockK), dp(kBlockK), grad_q(kBlockQ * D);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t qb = task % n_qblk, h = (task / n_qblk) % H, r = (task / (n_qblk * H)) % R,
                  b = task / (n_qblk * H * R);
    const int64_t q0 = qb * kBlockQ, nq = std::min(kBlockQ, S - q0);
    for (int64_t i = 0; i < nq; ++i) {
      load_row(a.q, b, r, q0 + i, h, D, a.scale, &q_blk[i * D]);
      load_row(a.grad_out, b, r, q0 + i, h, D, acc_t(1), &go_blk[i * D]);
    }
    std::fill(grad_q.begin(), grad_q.end(), acc_t(0));
    const acc_t* mask_bh = a.mask_bias != nullptr ? a.mask_bias + (b * R + r) * S : nullptr;
    for (int64_t k0 = 0; k0 < S; k0 += kBlockK) {
      const int64_t nk = std::min(kBlockK, S - k0);
      load_keys(a.k, b, r, h, k0, nk, D, k_tile.data(), k_rows.data());
      load_keys(a.v, b, r, h, k0, nk, D, v_tile.data(), static_cast<acc_t*>(nullptr));
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t row = ((b * R + r) * H + h) * S + q0 + i;
        const acc_t row_max = a.row_max[row], row_log_sum = a.row_log_sum[row], delta = a.delta[row];
        logits_row<kW>(&q_blk[i * D], k_tile.data(), a.bias + ((b * H + h) * S + q0 + i) * S + k0,
                       mask_bh != nullptr ? mask_bh + k0 : nullptr, nk, D, s.data());
        row_times_tile<kW>(&go_blk[i * D], v_tile.data(), D, dp.data());
#pragma omp simd
        for (int64_t j = 0; j < nk; ++j) dp[j] = exp_acc((s[j] - row_max) - row_log_sum) * (dp[j] - delta);
        scale_add_probs_times_rows<kD, kW>(&grad_q[i * D], acc_t(1), dp.data(), k_rows.data(), nk, D);
      }
    }
    for (int64_t i = 0; i < nq; ++i) {
      scalar_t* dst = a.grad_q + (((b * R + r) * S + q0 + i) * H + h) * D;
      for (int64_t d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(grad_q[i * D + d] * a.scale);
    }
  }
}

// delta[b, r, h, i] = sum_d grad_out * out - grad_lse, one row per task.
template <typename scalar_t, typename acc_t>
void compute_delta(const Strided5<const scalar_t>& grad_out, const Strided5<const scalar_t>& out, const acc_t* grad_lse,
                   const Dims& n, acc_t* delta) {
  const auto [B, R, S, H, D] = n;
  at::parallel_for(0, B * R * H * S, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row % S, h = (row / S) % H, r = (row / (S * H)) % R, b = row / (S * H * R);
      const scalar_t* go = grad_out.row(b, r, i, h);
      const scalar_t* o = out.row(b, r, i, h);
      acc_t sum = 0;
      for (int64_t d = 0; d < D; ++d) {
        sum += static_cast<acc_t>(go[d * grad_out.sd]) * static_cast<acc_t>(o[d * out.sd]);
      }
      delta[row] = grad_lse != nullptr ? sum - grad_lse[row] : sum;
    }
  });
}

// The backward rebuilds each probability as exp(s - lse) from one float lse, which is exact only to the
// ulp of lse: fine near 0, but a fully masked row has lse = -1e9 + log(sum), whose ulp (64) swallows the
// log-sum, and a row with |lse| = 1e4 already has errors of 1e-3. Rows with |lse| > kExactLseBelow get
// their max and log-sum again, from the logits of the same code (logits_row, compiled for the same
// instruction sets) as the backward passes: computed separately, a multiply-add contracted in one and not
// in the other could put a masked logit in another multiple of 64 than the backward sees (exp(64) off).
// Other rows keep (lse, 0).
constexpr double kExactLseBelow = 128.0;

template <typename scalar_t, typename acc_t, int kW>
KFOLD_ALWAYS_INLINE void row_stats_tasks(const BackwardArgs<scalar_t, acc_t>& a, acc_t* row_max, acc_t* row_log_sum,
                                         int64_t begin, int64_t end) {
  const auto [B, R, S, H, D] = a.n;
  (void)B;
  std::vector<acc_t> q_row(D), k_tile(D * kBlockK), s(kBlockK);
  for (int64_t row = begin; row < end; ++row) {
    row_log_sum[row] = 0;
    if (std::fabs(row_max[row]) <= acc_t(kExactLseBelow)) continue;
    const int64_t i = row % S, h = (row / S) % H, r = (row / (S * H)) % R, b = row / (S * H * R);
    load_row(a.q, b, r, i, h, D, a.scale, q_row.data());
    const acc_t* mask_row = a.mask_bias != nullptr ? a.mask_bias + (b * R + r) * S : nullptr;
    acc_t m = -std::numeric_limits<acc_t>::infinity(), l = 0;
    for (int64_t k0 = 0; k0 < S; k0 += kBlockK) {  // online, as the forward
      const int64_t nk = std::min(kBlockK, S - k0);
      load_keys(a.k, b, r, h, k0, nk, D, k_tile.data(), static_cast<acc_t*>(nullptr));
      logits_row<kW>(q_row.data(), k_tile.data(), a.bias + ((b * H + h) * S + i) * S + k0,
                     mask_row != nullptr ? mask_row + k0 : nullptr, nk, D, s.data());
      const acc_t m_new = std::max(m, block_max(s.data()));
      const acc_t shift = m_new == -std::numeric_limits<acc_t>::infinity() ? acc_t(0) : m_new;
      acc_t sum = 0;
      for (int64_t j = 0; j < nk; ++j) sum += exp_acc(s[j] - shift);
      l = l * exp_acc(m - shift) + sum;
      m = m_new;
    }
    row_max[row] = m;
    row_log_sum[row] = std::log(l);
  }
}

// body.operator()<kW>() (an always-inline lambda around one of the task functions above) compiled for each
// CPU level with its vector width kW (floats); run_for_cpu calls the copy for `level`
// (data::cpu_capability(), read once per op call).
template <typename Body>
KFOLD_TARGET_AVX512 void run_avx512(const Body& body) {
  body.template operator()<16>();
}
template <typename Body>
KFOLD_TARGET_AVX2 void run_avx2(const Body& body) {
  body.template operator()<8>();
}
template <typename Body>
void run_baseline(const Body& body) {
  body.template operator()<4>();
}
template <typename Body>
void run_for_cpu(data::CpuCapability level, const Body& body) {
  switch (level) {
    case data::CpuCapability::avx512:
      return run_avx512(body);
    case data::CpuCapability::avx2:
      return run_avx2(body);
    case data::CpuCapability::baseline:
      return run_baseline(body);
  }
}

template <typename scalar_t, typename acc_t>
void exact_row_stats(const BackwardArgs<scalar_t, acc_t>& a, acc_t* row_max, acc_t* row_log_sum) {
  const auto [B, R, S, H, D] = a.n;
  (void)D;
  const auto level = data::cpu_capability();
  at::parallel_for(0, B * R * H * S, 64, [&](int64_t begin, int64_t end) {
    run_for_cpu(level, [&]<int kW>() KFOLD_ALWAYS_INLINE_LAMBDA {
      row_stats_tasks<scalar_t, acc_t, kW>(a, row_max, row_log_sum, begin, end);
    });
  });
}

// fn.template operator()<kD>() with kD = D for AlphaFold's head dims (16, 32, 64: the kernels' loops over
// the head dim unroll and keep a row in registers), else kD = 0 (any D at run time).
template <typename Fn>
void with_head_dim(int64_t D, Fn&& fn) {
  switch (D) {
    case 16:
      return fn.template operator()<16>();
    case 32:
      return fn.template operator()<32>();
    case 64:
      return fn.template operator()<64>();
    default:
      return fn.template operator()<0>();
  }
}

Dims dims_of(const at::Tensor& q) { return {q.size(0), q.size(1), q.size(2), q.size(3), q.size(4)}; }

template <typename acc_t>
acc_t softmax_scale(int64_t D) {
  return static_cast<acc_t>(1.0 / std::sqrt(static_cast<double>(D)));
}

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_cpu(const at::Tensor& q, const at::Tensor& k,
                                                           const at::Tensor& v, const at::Tensor& bias,
                                                           const std::optional<at::Tensor>& mask) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  const auto acc_type = attention_accumulate_type(q.scalar_type());
  const Dims n = dims_of(q);
  auto out = at::empty({n.B, n.R, n.S, n.H, n.D}, q.options());             // [B, R, S, H, D]
  auto lse = at::empty({n.B, n.R, n.H, n.S}, q.options().dtype(acc_type));  // [B, R, H, S]
  if (out.numel() == 0) return {out, lse};
  auto bias_acc = bias.to(acc_type).contiguous();  // [B, H, S, S]
  at::Tensor mask_bias;
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, acc_type).contiguous();  // [B,R,S]
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, q.scalar_type(), "attention_pair_bias_cpu", [&] {
    using acc_t = std::conditional_t<std::is_same_v<scalar_t, double>, double, float>;
    const ForwardArgs<scalar_t, acc_t> args{Strided5<const scalar_t>(q),
                                            Strided5<const scalar_t>(k),
                                            Strided5<const scalar_t>(v),
                                            bias_acc.data_ptr<acc_t>(),
                                            mask_bias.defined() ? mask_bias.data_ptr<acc_t>() : nullptr,
                                            out.data_ptr<scalar_t>(),
                                            lse.data_ptr<acc_t>(),
                                            n,
                                            softmax_scale<acc_t>(n.D)};
    const int64_t n_tasks = n.B * n.R * n.H * ceil_div(n.S, kBlockQ);
    const auto level = data::cpu_capability();
    with_head_dim(n.D, [&]<int kD>() {
      at::parallel_for(0, n_tasks, 1, [&](int64_t begin, int64_t end) {
        run_for_cpu(level, [&]<int kW>() KFOLD_ALWAYS_INLINE_LAMBDA {
          forward_tasks<scalar_t, acc_t, kD, kW>(args, begin, end);
        });
      });
    });
  });
  return {out, lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_cpu(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  check_attention_pair_bias_backward_args(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  const auto acc_type = attention_accumulate_type(q.scalar_type());
  const Dims n = dims_of(q);
  auto grad_q = at::empty({n.B, n.R, n.S, n.H, n.D}, q.options());
  auto grad_k = at::empty({n.B, n.R, n.S, n.H, n.D}, k.options());
  auto grad_v = at::empty({n.B, n.R, n.S, n.H, n.D}, v.options());
  auto grad_bias_acc = at::empty({n.B, n.H, n.S, n.S}, bias.options().dtype(acc_type));
  if (q.numel() == 0) return {grad_q, grad_k, grad_v, at::zeros_like(bias)};
  auto bias_acc = bias.to(acc_type).contiguous();
  at::Tensor mask_bias;
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, acc_type).contiguous();
  auto row_max = lse.to(acc_type).contiguous().clone();  // [B, R, H, S]
  auto row_log_sum = at::empty_like(row_max);
  at::Tensor grad_lse_acc;
  if (grad_lse.has_value() && grad_lse->defined()) grad_lse_acc = grad_lse->to(acc_type).contiguous();
  auto delta = at::empty({n.B, n.R, n.H, n.S}, row_max.options());  // [B, R, H, S]
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, q.scalar_type(), "attention_pair_bias_backward_cpu", [&] {
    using acc_t = std::conditional_t<std::is_same_v<scalar_t, double>, double, float>;
    compute_delta<scalar_t, acc_t>(Strided5<const scalar_t>(grad_out), Strided5<const scalar_t>(out),
                                   grad_lse_acc.defined() ? grad_lse_acc.data_ptr<acc_t>() : nullptr, n,
                                   delta.data_ptr<acc_t>());
    const BackwardArgs<scalar_t, acc_t> args{
        Strided5<const scalar_t>(q),     Strided5<const scalar_t>(k),
        Strided5<const scalar_t>(v),     Strided5<const scalar_t>(grad_out),
        bias_acc.data_ptr<acc_t>(),      mask_bias.defined() ? mask_bias.data_ptr<acc_t>() : nullptr,
        row_max.data_ptr<acc_t>(),       row_log_sum.data_ptr<acc_t>(),
        delta.data_ptr<acc_t>(),         grad_q.data_ptr<scalar_t>(),
        grad_k.data_ptr<scalar_t>(),     grad_v.data_ptr<scalar_t>(),
        grad_bias_acc.data_ptr<acc_t>(), n,
        softmax_scale<acc_t>(n.D)};
    exact_row_stats(args, row_max.data_ptr<acc_t>(), row_log_sum.data_ptr<acc_t>());
    const auto level = data::cpu_capability();
    with_head_dim(n.D, [&]<int kD>() {
      at::parallel_for(0, n.B * n.H * ceil_div(n.S, kBlockK), 1, [&](int64_t begin, int64_t end) {
        run_for_cpu(level, [&]<int kW>() KFOLD_ALWAYS_INLINE_LAMBDA {
          backward_kv_tasks<scalar_t, acc_t, kD, kW>(args, begin, end);
        });
      });
      at::parallel_for(0, n.B * n.R * n.H * ceil_div(n.S, kBlockQ), 1, [&](int64_t begin, int64_t end) {
        run_for_cpu(level, [&]<int kW>() KFOLD_ALWAYS_INLINE_LAMBDA {
          backward_q_tasks<scalar_t, acc_t, kD, kW>(args, begin, end);
        });
      });
    });
  });
  return {grad_q, grad_k, grad_v, grad_bias_acc.to(bias.scalar_type())};
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, CPU, m) {
  m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_cpu);
  m.impl("attention_pair_bias_backward", &kfold::kernels::attention_pair_bias_backward_cpu);
}

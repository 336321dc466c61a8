// CUDA-core kernels of kfold::attention_pair_bias (all of fp32, bf16 and fp16; head dims 8, 16, 32, 64):
// a FlashAttention-style tiled forward (online softmax in fp32, one query per thread, key/value/bias tiles
// in shared memory) and a fused backward of three kernels that recompute the probabilities tile by tile
// instead of storing them: dq (one query per thread; it also keeps each row's softmax max and sum), dk/dv
// (one key per thread) and dbias (one (query, key) pair per thread, summed over the R rows in order:
// deterministic, no atomics). Launched by attention_pair_bias_cuda.cu; run on the CPU by the tests through
// tests/kernels/cuda_emulation.hpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/attention_pair_bias_params.cuh"
#include "kernels/device_code.cuh"

namespace kfold::kernels::cuda_core {

constexpr int kThreads = 128;  // queries per block, one per thread

// Tile sizes per head dim (shared memory and registers): keys per tile in the forward and the dq kernel,
// queries per tile in the dk/dv kernel.
template <int D>
struct SimtTiles {
  static constexpr int forward_keys = D <= 32 ? 32 : 16;
  static constexpr int backward_keys = D <= 32 ? 32 : 16;
  static constexpr int backward_queries = D <= 16 ? 32 : (D <= 32 ? 16 : 8);
};

// The block of kThreads rows (queries; keys in the dk/dv kernel) of one (b, r, h) that this block
// handles, with this thread's row; the grid is flattened into gridDim.x (64-bit math).
struct RowBlock {
  int64_t b, r, h;
  int64_t first;  // the block's first row
  int64_t row;    // first + threadIdx.x
  bool active;    // row < S
};

__device__ inline RowBlock row_block(int64_t R, int64_t H, int64_t S) {
  const int64_t n_blocks = (S + kThreads - 1) / kThreads;
  const int64_t block = static_cast<int64_t>(blockIdx.x);
  const int64_t bh = block / n_blocks;
  RowBlock rb;
  rb.h = bh % H;
  rb.r = (bh / H) % R;
  rb.b = bh / (H * R);
  rb.first = (block % n_blocks) * kThreads;
  rb.row = rb.first + static_cast<int64_t>(threadIdx.x);
  rb.active = rb.row < S;
  return rb;
}

// Keys k0 .. k0 + BK - 1 of (b, r, h): the [BK, D] fp32 tiles of k (and of v unless `v` is null; zeros
// past S) and the mask row (-inf past S: padded keys drop out of the softmax).
template <typename scalar_t, int D, int BK>
__device__ void load_key_tiles(const StridedInput<scalar_t>& k, const StridedInput<scalar_t>* v, const float* mask_br,
                               int64_t S, int64_t b, int64_t r, int64_t h, int64_t k0, float (*k_tile)[D],
                               float (*v_tile)[D], float* mask_tile) {
  const int tid = static_cast<int>(threadIdx.x);
  for (int e = tid; e < BK * D; e += blockDim.x) {
    const int j = e / D, d = e % D;
    const int64_t key = k0 + j;
    k_tile[j][d] = key < S ? static_cast<float>(k.row(b, r, key, h)[d * k.sd]) : 0.0f;
    if (v != nullptr) v_tile[j][d] = key < S ? static_cast<float>(v->row(b, r, key, h)[d * v->sd]) : 0.0f;
  }
  if (tid < BK) {
    const int64_t key = k0 + tid;
    mask_tile[tid] = key < S ? (mask_br != nullptr ? mask_br[key] : 0.0f) : -INFINITY;
  }
}

// The bias of queries first .. first + kThreads - 1 against keys k0 .. k0 + BK - 1 (0 when padded); the
// +1 column keeps thread t's reads of row t free of bank conflicts.
template <int BK>
__device__ void load_query_bias_tile(const float* bias_bh, int64_t S, int64_t first, int64_t k0,
                                     float (*bias_tile)[BK + 1]) {
  for (int e = static_cast<int>(threadIdx.x); e < kThreads * BK; e += kThreads) {
    const int row = e / BK, j = e % BK;
    const int64_t qi = first + row, key = k0 + j;
    bias_tile[row][j] = (qi < S && key < S) ? bias_bh[qi * S + key] : 0.0f;
  }
}

// Grid: one block per (b, r, h, block of kThreads queries), flattened into gridDim.x (64-bit math).
template <typename scalar_t, int D, int BK>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_forward_kernel(const AttentionForwardParams<scalar_t> p) {
  __shared__ float k_tile[BK][D];
  __shared__ float v_tile[BK][D];
  __shared__ float bias_tile[kThreads][BK + 1];
  __shared__ float mask_tile[BK];

  const int64_t S = p.S;
  const RowBlock rb = row_block(p.R, p.H, S);
  const int64_t b = rb.b, r = rb.r, h = rb.h, i = rb.row;
  const bool active = rb.active;
  const int tid = static_cast<int>(threadIdx.x);

  float q[D], acc[D];
  if (active) {
    const scalar_t* src = p.q.row(b, r, i, h);
    KFOLD_UNROLL
    for (int d = 0; d < D; ++d) q[d] = static_cast<float>(src[d * p.q.sd]) * p.scale;
  } else {
    KFOLD_UNROLL
    for (int d = 0; d < D; ++d) q[d] = 0.0f;
  }
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) acc[d] = 0.0f;
  float m = -INFINITY, l = 0.0f;

  const float* bias_bh = p.bias + (b * p.H + h) * S * S;
  const float* mask_br = p.mask_bias != nullptr ? p.mask_bias + (b * p.R + r) * S : nullptr;
  for (int64_t k0 = 0; k0 < S; k0 += BK) {
    __syncthreads();  // the previous tiles are consumed
    load_key_tiles<scalar_t, D, BK>(p.k, &p.v, mask_br, S, b, r, h, k0, k_tile, v_tile, mask_tile);
    load_query_bias_tile<BK>(bias_bh, S, rb.first, k0, bias_tile);
    __syncthreads();
    if (!active) continue;

    float s[BK];
    float tile_max = -INFINITY;
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) {
      float dot = 0.0f;
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) dot = fmaf(q[d], k_tile[j][d], dot);
      const float x = (dot + mask_tile[j]) + bias_tile[tid][j];  // same order as the reference
      s[j] = x;
      tile_max = fmaxf(tile_max, x);
    }
    const float m_new = fmaxf(m, tile_max);
    const float shift = m_new == -INFINITY ? 0.0f : m_new;  // keys so far all -inf (a -inf bias): p = 0
    const float alpha = expf(m - shift);                    // 0 on the first tile (m = -inf)
    float sum = 0.0f;
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) {
      s[j] = expf(s[j] - shift);
      sum += s[j];
    }
    l = l * alpha + sum;
    m = m_new;
    KFOLD_UNROLL
    for (int d = 0; d < D; ++d) acc[d] *= alpha;
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) {
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) acc[d] = fmaf(s[j], v_tile[j][d], acc[d]);
    }
  }
  if (!active) return;
  const float inv = 1.0f / l;
  scalar_t* dst = p.out + (((b * p.R + r) * S + i) * p.H + h) * D;
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(acc[d] * inv);
  p.lse[((b * p.R + r) * p.H + h) * S + i] = m + logf(l);
}

// ---- Backward -----------------------------------------------------------------------------------
// With x_ij = ((scale q_i) . k_j + mask_j) + bias_ij (the forward's order: q scaled as it is loaded, as in the
// reference; the tensor-core kernels scale the product instead), p_ij = exp(x_ij - m_i) / l_i
// (m_i, l_i: the row's max and sum, recomputed: the forward's lse loses them in fp32 for fully masked
// rows, whose x are all near -1e9), delta_i = dO_i . O_i - dlse_i:
//   ds_ij = p_ij (dO_i . v_j - delta_i);  dq_i = scale sum_j ds_ij k_j;  dk_j = scale sum_i ds_ij q_i;
//   dv_j = sum_i p_ij dO_i;  dbias_ij = sum_r ds_ij.

// dq, and each row's softmax max and sum. Grid: one block per (b, r, h, block of kThreads queries).
template <typename scalar_t, int D, int BK>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_backward_dq_kernel(const AttentionBackwardParams<scalar_t> p) {
  __shared__ float k_tile[BK][D];
  __shared__ float v_tile[BK][D];
  __shared__ float bias_tile[kThreads][BK + 1];
  __shared__ float mask_tile[BK];

  const int64_t S = p.S;
  const RowBlock rb = row_block(p.R, p.H, S);
  const int64_t b = rb.b, r = rb.r, h = rb.h, i = rb.row;
  const bool active = rb.active;
  const int tid = static_cast<int>(threadIdx.x);

  float q[D], go[D], dq[D];
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) {
    q[d] = active ? static_cast<float>(p.q.row(b, r, i, h)[d * p.q.sd]) * p.scale : 0.0f;
    go[d] = active ? static_cast<float>(p.grad_out.row(b, r, i, h)[d * p.grad_out.sd]) : 0.0f;
    dq[d] = 0.0f;
  }
  const int64_t stat = ((b * p.R + r) * p.H + h) * S + i;  // [B, R, H, S] index
  const float delta = active ? p.delta[stat] : 0.0f;
  const float* bias_bh = p.bias + (b * p.H + h) * S * S;
  const float* mask_br = p.mask_bias != nullptr ? p.mask_bias + (b * p.R + r) * S : nullptr;
  const auto logit = [&](int j) {
    float dot = 0.0f;
    KFOLD_UNROLL
    for (int d = 0; d < D; ++d) dot = fmaf(q[d], k_tile[j][d], dot);
    return (dot + mask_tile[j]) + bias_tile[tid][j];  // as the forward
  };

  // Pass 1: the row's max and sum, as the forward's online softmax.
  float m = -INFINITY, l = 0.0f;
  for (int64_t k0 = 0; k0 < S; k0 += BK) {
    __syncthreads();
    load_key_tiles<scalar_t, D, BK>(p.k, nullptr, mask_br, S, b, r, h, k0, k_tile, nullptr, mask_tile);
    load_query_bias_tile<BK>(bias_bh, S, rb.first, k0, bias_tile);
    __syncthreads();
    if (!active) continue;
    float tile_max = -INFINITY;
    float x[BK];
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) {
      x[j] = logit(j);
      tile_max = fmaxf(tile_max, x[j]);
    }
    const float m_new = fmaxf(m, tile_max);
    const float shift = m_new == -INFINITY ? 0.0f : m_new;  // as the forward
    float sum = 0.0f;
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) sum += expf(x[j] - shift);
    l = l * expf(m - shift) + sum;
    m = m_new;
  }
  // Pass 2: ds and dq.
  const float inv_l = active ? 1.0f / l : 0.0f;
  for (int64_t k0 = 0; k0 < S; k0 += BK) {
    __syncthreads();
    load_key_tiles<scalar_t, D, BK>(p.k, &p.v, mask_br, S, b, r, h, k0, k_tile, v_tile, mask_tile);
    load_query_bias_tile<BK>(bias_bh, S, rb.first, k0, bias_tile);
    __syncthreads();
    if (!active) continue;
    KFOLD_UNROLL
    for (int j = 0; j < BK; ++j) {
      const float prob = expf(logit(j) - m) * inv_l;
      float dp = 0.0f;
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) dp = fmaf(go[d], v_tile[j][d], dp);
      const float ds = prob * (dp - delta);
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) dq[d] = fmaf(ds, k_tile[j][d], dq[d]);
    }
  }
  if (!active) return;
  scalar_t* dst = p.grad_q + (((b * p.R + r) * S + i) * p.H + h) * D;
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(dq[d] * p.scale);
  p.row_max[stat] = m;
  p.row_sum[stat] = l;
}

// dk and dv. Grid: one block per (b, r, h, block of kThreads keys); query tiles of BQ in shared memory.
template <typename scalar_t, int D, int BQ>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_backward_dkv_kernel(const AttentionBackwardParams<scalar_t> p) {
  __shared__ float q_tile[BQ][D];   // scaled
  __shared__ float go_tile[BQ][D];  // dO
  __shared__ float bias_tile[BQ][kThreads];
  __shared__ float m_tile[BQ], inv_l_tile[BQ], delta_tile[BQ];

  const int64_t S = p.S;
  const RowBlock rb = row_block(p.R, p.H, S);  // a block of keys
  const int64_t b = rb.b, r = rb.r, h = rb.h, j0 = rb.first, j = rb.row;
  const bool active = rb.active;
  const int tid = static_cast<int>(threadIdx.x);

  float kj[D], vj[D], dk[D], dv[D];
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) {
    kj[d] = active ? static_cast<float>(p.k.row(b, r, j, h)[d * p.k.sd]) : 0.0f;
    vj[d] = active ? static_cast<float>(p.v.row(b, r, j, h)[d * p.v.sd]) : 0.0f;
    dk[d] = 0.0f;
    dv[d] = 0.0f;
  }
  const float mask_j = active && p.mask_bias != nullptr ? p.mask_bias[(b * p.R + r) * S + j] : 0.0f;
  const float* bias_bh = p.bias + (b * p.H + h) * S * S;
  const int64_t stat0 = ((b * p.R + r) * p.H + h) * S;
  for (int64_t i0 = 0; i0 < S; i0 += BQ) {
    __syncthreads();
    for (int e = tid; e < BQ * D; e += kThreads) {
      const int row = e / D, d = e % D;
      const int64_t qi = i0 + row;
      q_tile[row][d] = qi < S ? static_cast<float>(p.q.row(b, r, qi, h)[d * p.q.sd]) * p.scale : 0.0f;
      go_tile[row][d] = qi < S ? static_cast<float>(p.grad_out.row(b, r, qi, h)[d * p.grad_out.sd]) : 0.0f;
    }
    for (int e = tid; e < BQ * kThreads; e += kThreads) {
      const int row = e / kThreads, col = e % kThreads;
      const int64_t qi = i0 + row, key = j0 + col;
      bias_tile[row][col] = (qi < S && key < S) ? bias_bh[qi * S + key] : 0.0f;
    }
    if (tid < BQ) {
      const int64_t qi = i0 + tid;
      m_tile[tid] = qi < S ? p.row_max[stat0 + qi] : 0.0f;
      inv_l_tile[tid] = qi < S ? 1.0f / p.row_sum[stat0 + qi] : 0.0f;  // 0: padded queries add nothing
      delta_tile[tid] = qi < S ? p.delta[stat0 + qi] : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    // Unrolled by 4 up to D = 32; at D = 64 dk and dv already take 128 registers, and unrolling made
    // ptxas spill ~8 KB per thread (sm_90), so the rows run one at a time there.
    KFOLD_UNROLL_BY((D >= 64 ? 1 : 4))
    for (int row = 0; row < BQ; ++row) {
      float dot = 0.0f, dp = 0.0f;
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) {
        dot = fmaf(q_tile[row][d], kj[d], dot);
        dp = fmaf(go_tile[row][d], vj[d], dp);
      }
      const float x = (dot + mask_j) + bias_tile[row][tid];
      const float prob = expf(x - m_tile[row]) * inv_l_tile[row];
      const float ds = prob * (dp - delta_tile[row]);
      KFOLD_UNROLL
      for (int d = 0; d < D; ++d) {
        dv[d] = fmaf(prob, go_tile[row][d], dv[d]);
        dk[d] = fmaf(ds, q_tile[row][d], dk[d]);  // q is scaled: dk = scale sum ds q
      }
    }
  }
  if (!active) return;
  const int64_t out_row = (((b * p.R + r) * S + j) * p.H + h) * D;
  KFOLD_UNROLL
  for (int d = 0; d < D; ++d) {
    p.grad_k[out_row + d] = static_cast<scalar_t>(dk[d]);
    p.grad_v[out_row + d] = static_cast<scalar_t>(dv[d]);
  }
}

constexpr int kBiasTile = 16;  // dbias: kBiasTile x kBiasTile (query, key) pairs per block, one per thread

// Grid sizes: blocks of kThreads rows per (b, r, h) (forward, dq, dk/dv), and of kBiasTile x kBiasTile
// (query, key) pairs per (b, h) (dbias).
template <typename Params>
int64_t row_blocks(const Params& p) {
  return p.B * p.R * p.H * ((p.S + kThreads - 1) / kThreads);
}
template <typename Params>
int64_t bias_blocks(const Params& p) {
  const int64_t n = (p.S + kBiasTile - 1) / kBiasTile;
  return p.B * p.H * n * n;
}

// dbias, summed over the rows r = 0..R-1 in order. Grid: one block per (b, h, query tile, key tile).
template <typename scalar_t, int D>
__global__ void __launch_bounds__(kBiasTile* kBiasTile)
    attention_pair_bias_backward_dbias_kernel(const AttentionBackwardParams<scalar_t> p) {
  __shared__ float q_tile[kBiasTile][D + 1];  // scaled; +1: threads of a warp read different rows
  __shared__ float go_tile[kBiasTile][D + 1];
  __shared__ float k_tile[kBiasTile][D + 1];
  __shared__ float v_tile[kBiasTile][D + 1];
  __shared__ float m_tile[kBiasTile], inv_l_tile[kBiasTile], delta_tile[kBiasTile], mask_tile[kBiasTile];

  const int64_t S = p.S;
  const int64_t n_tiles = (S + kBiasTile - 1) / kBiasTile;
  const int64_t block = static_cast<int64_t>(blockIdx.x);
  const int64_t kt = block % n_tiles, qt = (block / n_tiles) % n_tiles, bh = block / (n_tiles * n_tiles);
  const int64_t h = bh % p.H, b = bh / p.H;
  const int tid = static_cast<int>(threadIdx.x);
  const int ti = tid / kBiasTile, tj = tid % kBiasTile;  // consecutive threads: consecutive keys
  const int64_t i = qt * kBiasTile + ti, j = kt * kBiasTile + tj;
  const bool active = i < S && j < S;
  const float bias_ij = active ? p.bias[((b * p.H + h) * S + i) * S + j] : 0.0f;

  float acc = 0.0f;
  for (int64_t r = 0; r < p.R; ++r) {
    __syncthreads();
    const int64_t stat0 = ((b * p.R + r) * p.H + h) * S;
    for (int e = tid; e < kBiasTile * D; e += kBiasTile * kBiasTile) {
      const int row = e / D, d = e % D;
      const int64_t qi = qt * kBiasTile + row, key = kt * kBiasTile + row;
      q_tile[row][d] = qi < S ? static_cast<float>(p.q.row(b, r, qi, h)[d * p.q.sd]) * p.scale : 0.0f;
      go_tile[row][d] = qi < S ? static_cast<float>(p.grad_out.row(b, r, qi, h)[d * p.grad_out.sd]) : 0.0f;
      k_tile[row][d] = key < S ? static_cast<float>(p.k.row(b, r, key, h)[d * p.k.sd]) : 0.0f;
      v_tile[row][d] = key < S ? static_cast<float>(p.v.row(b, r, key, h)[d * p.v.sd]) : 0.0f;
    }
    if (tid < kBiasTile) {
      const int64_t qi = qt * kBiasTile + tid, key = kt * kBiasTile + tid;
      m_tile[tid] = qi < S ? p.row_max[stat0 + qi] : 0.0f;
      inv_l_tile[tid] = qi < S ? 1.0f / p.row_sum[stat0 + qi] : 0.0f;
      delta_tile[tid] = qi < S ? p.delta[stat0 + qi] : 0.0f;
      mask_tile[tid] = key < S && p.mask_bias != nullptr ? p.mask_bias[(b * p.R + r) * S + key] : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    float dot = 0.0f, dp = 0.0f;
    KFOLD_UNROLL
    for (int d = 0; d < D; ++d) {
      dot = fmaf(q_tile[ti][d], k_tile[tj][d], dot);
      dp = fmaf(go_tile[ti][d], v_tile[tj][d], dp);
    }
    const float x = (dot + mask_tile[tj]) + bias_ij;
    const float prob = expf(x - m_tile[ti]) * inv_l_tile[ti];
    acc += prob * (dp - delta_tile[ti]);
  }
  if (active) p.grad_bias[((b * p.H + h) * S + i) * S + j] = acc;
}

}  // namespace kfold::kernels::cuda_core

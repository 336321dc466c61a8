// Tensor-core backward of kfold::attention_pair_bias for bf16 and fp16 inputs (sm_80 and newer), the
// WMMA twin of the three CUDA-core kernels of attention_pair_bias_simt.cuh, with the same split and the
// same formulas: with x_ij = ((q_i . k_j) * scale + mask_j) + bias_ij, p_ij = exp(x_ij - m_i) / l_i and
// delta_i = dO_i . O_i - dlse_i,
//   ds_ij = p_ij (dO_i . v_j - delta_i);  dq_i = scale sum_j ds_ij k_j;  dk_j = scale sum_i ds_ij q_i;
//   dv_j = sum_i p_ij dO_i;  dbias_ij = sum_r ds_ij (summed over r in order: deterministic, no atomics).
// - dq kernel, per (b, r, h, 64 queries): recomputes each row's max m and sum l (the forward's lse loses
//   them in fp32 for fully masked rows), then ds tile by tile and dq += ds . K.
// - dk/dv kernel, per (b, r, h, 64 keys): per tile of 64 queries, S^T = K Q^T and dP^T = V dO^T, then
//   dv += P^T dO and dk += dS^T Q, accumulated in WMMA fragments.
// - dbias kernel, per (b, h, 64 queries, 64 keys): loops over r, with ds in fp32 registers.
// Products run on the tensor cores with bf16/fp16 operands (p and ds rounded to the input precision, as
// FlashAttention does) and fp32 accumulation; everything else is fp32.
#pragma once

#include "kernels/attention_pair_bias_mma_common.cuh"

namespace kfold::kernels::tensor_core {

// Writes the warp's [16, D] fp32 accumulators, times `factor`, to rows first + 0..15 of a contiguous
// [.., S, H, D] output (row stride H * D) through the fp32 scratch tile `scratch` ([16, kLdFloat]).
template <typename T, int D, typename CFrag>
__device__ __forceinline__ void write_rows(const CFrag (&acc)[D / 16], float factor, float* scratch, T* out_bh0,
                                           int64_t first, int64_t S, int64_t H) {
  using namespace wmma;
  KFOLD_UNROLL
  for (int dn = 0; dn < D / 16; ++dn) store_matrix_sync(scratch + dn * 16, acc[dn], kLdFloat, mem_row_major);
  __syncwarp();
  const int lane = static_cast<int>(threadIdx.x % 32), row = lane / 2, half = lane % 2;
  if (first + row < S) {
    T* dst = out_bh0 + (first + row) * H * D + half * (D / 2);
    KFOLD_UNROLL
    for (int d = 0; d < D / 2; ++d) to_mma(scratch[row * kLdFloat + half * (D / 2) + d] * factor, dst[d]);
  }
  __syncwarp();
}

template <typename T, int D>
struct DqSharedLayout {
  static constexpr int in_tile = 64 * kLdIn<D> * static_cast<int>(sizeof(T));
  static constexpr int q = 0;                                                // [64 queries, D]
  static constexpr int go = region_end(q, in_tile);                          // [64 queries, D]: dO
  static constexpr int k = region_end(go, in_tile);                          // [64 keys, D]
  static constexpr int v = region_end(k, in_tile);                           // [64 keys, D]
  static constexpr int bias = region_end(v, in_tile);                        // [64, 64] fp32
  static constexpr int mask = region_end(bias, 64 * kLdFloat * 4);           // [64 keys]
  static constexpr int scores = region_end(mask, 64 * 4);                    // per warp [16, 64] fp32
  static constexpr int dp = region_end(scores, kWarps * 16 * kLdFloat * 4);  // per warp [16, 64] fp32
  static constexpr int ds = region_end(dp, kWarps * 16 * kLdFloat * 4);      // per warp [16, 64] T
  static constexpr int bytes = region_end(ds, kWarps * 16 * kLdProb * static_cast<int>(sizeof(T)));
};

// dq and the row statistics. Grid: one block of kThreads per (b, r, h, 64 queries).
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_backward_dq_mma_kernel(const AttentionBackwardParams<T> p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  using L = DqSharedLayout<T, D>;
  using namespace wmma;
  unsigned char* smem = dynamic_shared_memory();
  T* q_s = reinterpret_cast<T*>(smem + L::q);
  T* go_s = reinterpret_cast<T*>(smem + L::go);
  T* k_s = reinterpret_cast<T*>(smem + L::k);
  T* v_s = reinterpret_cast<T*>(smem + L::v);
  float* bias_s = reinterpret_cast<float*>(smem + L::bias);
  float* mask_s = reinterpret_cast<float*>(smem + L::mask);
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int row = lane / 2, half = lane % 2, block_row = warp * 16 + row;  // as in the forward
  float* scores_w = reinterpret_cast<float*>(smem + L::scores) + warp * 16 * kLdFloat;
  float* dp_w = reinterpret_cast<float*>(smem + L::dp) + warp * 16 * kLdFloat;
  T* ds_w = reinterpret_cast<T*>(smem + L::ds) + warp * 16 * kLdProb;

  const int64_t S = p.S, H = p.H, R = p.R;
  const auto [b, r, h, q0] = row_tile(R, H, S);
  const int64_t qi = q0 + block_row;
  const int64_t stat = ((b * R + r) * H + h) * S + qi;  // [B, R, H, S] index
  const float delta = qi < S ? p.delta[stat] : 0.0f;
  load_rows<T, D>(p.q, b, r, h, q0, S, q_s);
  load_rows<T, D>(p.grad_out, b, r, h, q0, S, go_s);
  __syncthreads();
  fragment<matrix_a, 16, 16, 16, T, row_major> q_frag[D / 16], go_frag[D / 16];
  KFOLD_UNROLL
  for (int kk = 0; kk < D / 16; ++kk) {
    load_matrix_sync(q_frag[kk], q_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
    load_matrix_sync(go_frag[kk], go_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
  }

  // Pass 1: the row's max and sum, as the forward's online softmax.
  float m = -INFINITY, l = 0.0f;
  for (int64_t k0 = 0; k0 < S; k0 += 64) {
    __syncthreads();
    load_key_tiles<T, D>(p, b, r, h, q0, k0, k_s, static_cast<T*>(nullptr), bias_s, mask_s);
    __syncthreads();
    rows_times_tile_t<T, D>(q_frag, k_s, scores_w);
    __syncwarp();
    float tile_max = -INFINITY;
    for (int c = 0; c < 32; ++c) {
      const int j = half * 32 + c;
      tile_max =
          fmaxf(tile_max, (scores_w[row * kLdFloat + j] * p.scale + mask_s[j]) + bias_s[block_row * kLdFloat + j]);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float m_new = fmaxf(m, tile_max);
    const float shift = m_new == -INFINITY ? 0.0f : m_new;  // as the forward
    float sum = 0.0f;
    for (int c = 0; c < 32; ++c) {
      const int j = half * 32 + c;
      sum += expf((scores_w[row * kLdFloat + j] * p.scale + mask_s[j]) + bias_s[block_row * kLdFloat + j] - shift);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * expf(m - shift) + sum;
    m = m_new;
  }

  // Pass 2: ds tile by tile, dq += ds . K.
  const float inv_l = 1.0f / l;
  fragment<accumulator, 16, 16, 16, float> dq_acc[D / 16];
  KFOLD_UNROLL
  for (int dn = 0; dn < D / 16; ++dn) fill_fragment(dq_acc[dn], 0.0f);
  for (int64_t k0 = 0; k0 < S; k0 += 64) {
    __syncthreads();
    load_key_tiles<T, D>(p, b, r, h, q0, k0, k_s, v_s, bias_s, mask_s);
    __syncthreads();
    rows_times_tile_t<T, D>(q_frag, k_s, scores_w);
    rows_times_tile_t<T, D>(go_frag, v_s, dp_w);
    __syncwarp();
    for (int c = 0; c < 32; ++c) {
      const int j = half * 32 + c;
      const float x = (scores_w[row * kLdFloat + j] * p.scale + mask_s[j]) + bias_s[block_row * kLdFloat + j];
      const float prob = expf(x - m) * inv_l;
      to_mma(prob * (dp_w[row * kLdFloat + j] - delta), ds_w[row * kLdProb + j]);
    }
    __syncwarp();
    accumulate_tile_times_rows<T, D>(ds_w, k_s, dq_acc);
  }
  __syncwarp();
  write_rows<T, D>(dq_acc, p.scale, scores_w, p.grad_q + ((b * R + r) * S * H + h) * D, q0 + warp * 16, S, H);
  if (qi < S && half == 0) {
    p.row_max[stat] = m;
    p.row_sum[stat] = l;
  }
#endif
}

template <typename T, int D>
struct DkvSharedLayout {
  static constexpr int in_tile = 64 * kLdIn<D> * static_cast<int>(sizeof(T));
  static constexpr int k = 0;                                                // [64 keys, D]
  static constexpr int v = region_end(k, in_tile);                           // [64 keys, D]
  static constexpr int q = region_end(v, in_tile);                           // [64 queries, D]
  static constexpr int go = region_end(q, in_tile);                          // [64 queries, D]: dO
  static constexpr int bias = region_end(go, in_tile);                       // [64 queries, 64 keys] fp32
  static constexpr int stats = region_end(bias, 64 * kLdFloat * 4);          // m, 1/l, delta: 3 x [64]
  static constexpr int scores = region_end(stats, 3 * 64 * 4);               // per warp [16 keys, 64] fp32
  static constexpr int dp = region_end(scores, kWarps * 16 * kLdFloat * 4);  // per warp [16 keys, 64] fp32
  static constexpr int probs = region_end(dp, kWarps * 16 * kLdFloat * 4);   // per warp [16 keys, 64] T
  static constexpr int ds = region_end(probs, kWarps * 16 * kLdProb * static_cast<int>(sizeof(T)));
  static constexpr int bytes = region_end(ds, kWarps * 16 * kLdProb * static_cast<int>(sizeof(T)));
};

// dk and dv. Grid: one block of kThreads per (b, r, h, 64 keys); warp w holds keys w*16 .. +15.
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_backward_dkv_mma_kernel(const AttentionBackwardParams<T> p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  using L = DkvSharedLayout<T, D>;
  using namespace wmma;
  unsigned char* smem = dynamic_shared_memory();
  T* k_s = reinterpret_cast<T*>(smem + L::k);
  T* v_s = reinterpret_cast<T*>(smem + L::v);
  T* q_s = reinterpret_cast<T*>(smem + L::q);
  T* go_s = reinterpret_cast<T*>(smem + L::go);
  float* bias_s = reinterpret_cast<float*>(smem + L::bias);
  float* m_s = reinterpret_cast<float*>(smem + L::stats);
  float* inv_l_s = m_s + 64;
  float* delta_s = m_s + 128;
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int row = lane / 2, half = lane % 2, key_row = warp * 16 + row;  // this thread's key; queries half*32..
  float* st_w = reinterpret_cast<float*>(smem + L::scores) + warp * 16 * kLdFloat;  // S^T [16 keys, 64 queries]
  float* dpt_w = reinterpret_cast<float*>(smem + L::dp) + warp * 16 * kLdFloat;     // dP^T
  T* pt_w = reinterpret_cast<T*>(smem + L::probs) + warp * 16 * kLdProb;            // P^T
  T* dst_w = reinterpret_cast<T*>(smem + L::ds) + warp * 16 * kLdProb;              // dS^T

  const int64_t S = p.S, H = p.H, R = p.R;
  const auto [b, r, h, j0] = row_tile(R, H, S);
  const int64_t key = j0 + key_row;
  // The key's additive mask (-inf for padded keys: their p and ds are 0).
  const float mask_j = key < S ? (p.mask_bias != nullptr ? p.mask_bias[(b * R + r) * S + key] : 0.0f) : -INFINITY;
  const float* bias_bh = p.bias + (b * H + h) * S * S;
  const int64_t stat0 = ((b * R + r) * H + h) * S;
  load_rows<T, D>(p.k, b, r, h, j0, S, k_s);
  load_rows<T, D>(p.v, b, r, h, j0, S, v_s);
  __syncthreads();
  fragment<matrix_a, 16, 16, 16, T, row_major> k_frag[D / 16], v_frag[D / 16];
  KFOLD_UNROLL
  for (int kk = 0; kk < D / 16; ++kk) {
    load_matrix_sync(k_frag[kk], k_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
    load_matrix_sync(v_frag[kk], v_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
  }
  fragment<accumulator, 16, 16, 16, float> dk_acc[D / 16], dv_acc[D / 16];
  KFOLD_UNROLL
  for (int dn = 0; dn < D / 16; ++dn) {
    fill_fragment(dk_acc[dn], 0.0f);
    fill_fragment(dv_acc[dn], 0.0f);
  }

  for (int64_t i0 = 0; i0 < S; i0 += 64) {
    __syncthreads();
    load_rows<T, D>(p.q, b, r, h, i0, S, q_s);
    load_rows<T, D>(p.grad_out, b, r, h, i0, S, go_s);
    load_bias_tile(bias_bh, S, i0, j0, bias_s);  // [query, key]
    if (tid < 64) {
      const int64_t query = i0 + tid;
      m_s[tid] = query < S ? p.row_max[stat0 + query] : 0.0f;
      inv_l_s[tid] = query < S ? 1.0f / p.row_sum[stat0 + query] : 0.0f;  // 0: padded queries add nothing
      delta_s[tid] = query < S ? p.delta[stat0 + query] : 0.0f;
    }
    __syncthreads();
    rows_times_tile_t<T, D>(k_frag, q_s, st_w);    // S^T = K Q^T (unscaled)
    rows_times_tile_t<T, D>(v_frag, go_s, dpt_w);  // dP^T = V dO^T
    __syncwarp();
    for (int c = 0; c < 32; ++c) {
      const int i = half * 32 + c;  // query in the tile
      const float x = (st_w[row * kLdFloat + i] * p.scale + mask_j) + bias_s[i * kLdFloat + key_row];
      const float prob = expf(x - m_s[i]) * inv_l_s[i];
      to_mma(prob, pt_w[row * kLdProb + i]);
      to_mma(prob * (dpt_w[row * kLdFloat + i] - delta_s[i]), dst_w[row * kLdProb + i]);
    }
    __syncwarp();
    accumulate_tile_times_rows<T, D>(pt_w, go_s, dv_acc);  // dv += P^T dO
    accumulate_tile_times_rows<T, D>(dst_w, q_s, dk_acc);  // dk += dS^T Q (scaled on output)
  }
  __syncwarp();
  const int64_t out0 = ((b * R + r) * S * H + h) * D;
  write_rows<T, D>(dk_acc, p.scale, st_w, p.grad_k + out0, j0 + warp * 16, S, H);
  write_rows<T, D>(dv_acc, 1.0f, st_w, p.grad_v + out0, j0 + warp * 16, S, H);
#endif
}

template <typename T, int D>
struct DbiasSharedLayout {
  static constexpr int in_tile = 64 * kLdIn<D> * static_cast<int>(sizeof(T));
  static constexpr int q = 0;                                                // [64 queries, D]
  static constexpr int go = region_end(q, in_tile);                          // [64 queries, D]: dO
  static constexpr int k = region_end(go, in_tile);                          // [64 keys, D]
  static constexpr int v = region_end(k, in_tile);                           // [64 keys, D]
  static constexpr int stats = region_end(v, in_tile);                       // m, 1/l, delta, key mask: 4 x [64]
  static constexpr int scores = region_end(stats, 4 * 64 * 4);               // per warp [16, 64] fp32
  static constexpr int dp = region_end(scores, kWarps * 16 * kLdFloat * 4);  // per warp [16, 64] fp32
  static constexpr int bytes = region_end(dp, kWarps * 16 * kLdFloat * 4);
};

// dbias summed over r = 0 .. R-1 in order. Grid: one block of kThreads per (b, h, 64 queries, 64 keys);
// thread (row, half) owns dbias[query row, keys half*32 .. +31] in registers.
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_pair_bias_backward_dbias_mma_kernel(const AttentionBackwardParams<T> p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  using L = DbiasSharedLayout<T, D>;
  using namespace wmma;
  unsigned char* smem = dynamic_shared_memory();
  T* q_s = reinterpret_cast<T*>(smem + L::q);
  T* go_s = reinterpret_cast<T*>(smem + L::go);
  T* k_s = reinterpret_cast<T*>(smem + L::k);
  T* v_s = reinterpret_cast<T*>(smem + L::v);
  float* m_s = reinterpret_cast<float*>(smem + L::stats);
  float* inv_l_s = m_s + 64;
  float* delta_s = m_s + 128;
  float* mask_s = m_s + 192;
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int row = lane / 2, half = lane % 2, block_row = warp * 16 + row;
  float* scores_w = reinterpret_cast<float*>(smem + L::scores) + warp * 16 * kLdFloat;
  float* dp_w = reinterpret_cast<float*>(smem + L::dp) + warp * 16 * kLdFloat;

  const int64_t S = p.S, H = p.H, R = p.R;
  const int64_t n_tiles = (S + 63) / 64;
  const int64_t block = static_cast<int64_t>(blockIdx.x);
  const int64_t kt = block % n_tiles, qt = (block / n_tiles) % n_tiles, bh = block / (n_tiles * n_tiles);
  const int64_t h = bh % H, b = bh / H;
  const int64_t q0 = qt * 64, k0 = kt * 64, qi = q0 + block_row;
  const float* bias_row = p.bias + ((b * H + h) * S + qi) * S + k0 + half * 32;
  float bias_reg[32], acc[32];
  KFOLD_UNROLL
  for (int c = 0; c < 32; ++c) {
    bias_reg[c] = (qi < S && k0 + half * 32 + c < S) ? bias_row[c] : 0.0f;
    acc[c] = 0.0f;
  }

  for (int64_t r = 0; r < R; ++r) {
    __syncthreads();
    const int64_t stat0 = ((b * R + r) * H + h) * S;
    load_rows<T, D>(p.q, b, r, h, q0, S, q_s);
    load_rows<T, D>(p.grad_out, b, r, h, q0, S, go_s);
    load_rows<T, D>(p.k, b, r, h, k0, S, k_s);
    load_rows<T, D>(p.v, b, r, h, k0, S, v_s);
    load_mask_tile(p.mask_bias != nullptr ? p.mask_bias + (b * R + r) * S : nullptr, S, k0, mask_s);
    if (tid < 64) {
      const int64_t query = q0 + tid;
      m_s[tid] = query < S ? p.row_max[stat0 + query] : 0.0f;
      inv_l_s[tid] = query < S ? 1.0f / p.row_sum[stat0 + query] : 0.0f;
      delta_s[tid] = query < S ? p.delta[stat0 + query] : 0.0f;
    }
    __syncthreads();
    fragment<matrix_a, 16, 16, 16, T, row_major> q_frag[D / 16], go_frag[D / 16];
    KFOLD_UNROLL
    for (int kk = 0; kk < D / 16; ++kk) {
      load_matrix_sync(q_frag[kk], q_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
      load_matrix_sync(go_frag[kk], go_s + warp * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
    }
    rows_times_tile_t<T, D>(q_frag, k_s, scores_w);
    rows_times_tile_t<T, D>(go_frag, v_s, dp_w);
    __syncwarp();
    KFOLD_UNROLL
    for (int c = 0; c < 32; ++c) {
      const int j = half * 32 + c;
      const float x = (scores_w[row * kLdFloat + j] * p.scale + mask_s[j]) + bias_reg[c];
      const float prob = expf(x - m_s[block_row]) * inv_l_s[block_row];
      acc[c] += prob * (dp_w[row * kLdFloat + j] - delta_s[block_row]);
    }
  }
  if (qi < S) {
    float* dst = p.grad_bias + ((b * H + h) * S + qi) * S + k0 + half * 32;
    KFOLD_UNROLL
    for (int c = 0; c < 32; ++c) {
      if (k0 + half * 32 + c < S) dst[c] = acc[c];
    }
  }
#endif
}

}  // namespace kfold::kernels::tensor_core

// Tensor-core forward of kfold::attention_pair_bias for bf16 and fp16 inputs (sm_80 and newer), through
// the WMMA API: a block of 4 warps takes 64 queries of one (b, r, h), each warp 16 of them; per tile of 64
// keys a warp computes its [16, 64] logits with WMMA (fp32 accumulation), does the online softmax in fp32
// on them in shared memory (two threads per query row), writes the probabilities back as bf16/fp16 and
// multiplies them with the value tile on the tensor cores again. The running output stays in fp32
// registers. The logits are never stored beyond one [16, 64] tile per warp.
#pragma once

#include "kernels/attention_pair_bias_mma_common.cuh"

namespace kfold::kernels::tensor_core {

// Byte offsets of the shared-memory regions.
template <typename T, int D>
struct ForwardSharedLayout {
  static constexpr int in_tile = 64 * kLdIn<D> * static_cast<int>(sizeof(T));
  static constexpr int q = 0;                                                   // [64 queries, D]
  static constexpr int k = region_end(q, in_tile);                              // [64 keys, D]
  static constexpr int v = region_end(k, in_tile);                              // [64 keys, D]
  static constexpr int bias = region_end(v, in_tile);                           // [64 queries, 64 keys] fp32
  static constexpr int mask = region_end(bias, 64 * kLdFloat * 4);              // [64 keys] fp32
  static constexpr int scores = region_end(mask, 64 * 4);                       // per warp [16, 64] fp32
  static constexpr int probs = region_end(scores, kWarps * 16 * kLdFloat * 4);  // per warp [16, 64] T
  static constexpr int bytes = region_end(probs, kWarps * 16 * kLdProb * static_cast<int>(sizeof(T)));
};

// Grid: one block of kThreads per (b, r, h, 64 queries), flattened into gridDim.x; dynamic shared memory
// of ForwardSharedLayout<T, D>::bytes.
template <typename T, int D>
__global__ void __launch_bounds__(kThreads) attention_pair_bias_forward_mma_kernel(const AttentionForwardParams<T> p) {
  static_assert(D % 16 == 0 && D <= kKeyTile, "head dim must be a multiple of 16, at most 64");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // bf16 WMMA needs sm_80; the host never launches this kernel on older devices
#else
  using L = ForwardSharedLayout<T, D>;
  using namespace wmma;
  unsigned char* smem = dynamic_shared_memory();
  T* q_s = reinterpret_cast<T*>(smem + L::q);                // [64 queries, D] (scaled later, in fp32)
  T* k_s = reinterpret_cast<T*>(smem + L::k);                // [64 keys, D]
  T* v_s = reinterpret_cast<T*>(smem + L::v);                // [64 keys, D]
  float* bias_s = reinterpret_cast<float*>(smem + L::bias);  // [64 queries, 64 keys]
  float* mask_s = reinterpret_cast<float*>(smem + L::mask);  // [64 keys]: 0, -1e9, or -inf past S

  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int64_t S = p.S, H = p.H, R = p.R;
  const auto [b, r, h, q0] = row_tile(R, H, S);
  load_rows<T, D>(p.q, b, r, h, q0, S, q_s);
  __syncthreads();
  fragment<matrix_a, 16, 16, 16, T, row_major> q_frag[D / 16];  // the warp's [16, D] queries
  KFOLD_UNROLL
  for (int kk = 0; kk < D / 16; ++kk) {
    load_matrix_sync(q_frag[kk], q_s + warp * kWarpQueries * kLdIn<D> + kk * 16, kLdIn<D>);
  }

  // Thread (row, half): query `row` of the warp; keys half*32 .. +31 of a tile in the softmax, head-dim
  // entries half*D/2 .. +D/2-1 of the output. The two threads of a row keep the same m and l.
  const int row = lane / 2, half = lane % 2;
  const int block_row = warp * kWarpQueries + row;
  const int64_t qi = q0 + block_row;
  float* scores_w = reinterpret_cast<float*>(smem + L::scores) + warp * kWarpQueries * kLdFloat;  // [16, 64]
  T* probs_w = reinterpret_cast<T*>(smem + L::probs) + warp * kWarpQueries * kLdProb;             // [16, 64]
  float m = -INFINITY, l = 0.0f;
  float o[D / 2];
  KFOLD_UNROLL
  for (int d = 0; d < D / 2; ++d) o[d] = 0.0f;

  for (int64_t k0 = 0; k0 < S; k0 += kKeyTile) {
    __syncthreads();  // every warp is done with the previous tiles
    load_key_tiles<T, D>(p, b, r, h, q0, k0, k_s, v_s, bias_s, mask_s);
    __syncthreads();

    // Logits of the warp's queries against the tile: [16, D] x [D, 64] (k_s read as K^T, column-major).
    rows_times_tile_t<T, D>(q_frag, k_s, scores_w);
    __syncwarp();

    // Online softmax over this thread's 32 keys, combined with the other half of the row.
    const float* s_row = scores_w + row * kLdFloat + half * 32;
    const float* b_row = bias_s + block_row * kLdFloat + half * 32;
    const float* m_row = mask_s + half * 32;
    float x[32];
    float tile_max = -INFINITY;
    KFOLD_UNROLL
    for (int c = 0; c < 32; ++c) {
      x[c] = (s_row[c] * p.scale + m_row[c]) + b_row[c];  // the reference's order
      tile_max = fmaxf(tile_max, x[c]);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float m_new = fmaxf(m, tile_max);
    const float shift = m_new == -INFINITY ? 0.0f : m_new;  // keys so far all -inf (a -inf bias): p = 0
    const float alpha = expf(m - shift);                    // 0 on the first tile (m = -inf)
    float sum = 0.0f;
    T* p_row = probs_w + row * kLdProb + half * 32;
    KFOLD_UNROLL
    for (int c = 0; c < 32; ++c) {
      const float e = expf(x[c] - shift);
      sum += e;
      to_mma(e, p_row[c]);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = m_new;
    __syncwarp();  // the probabilities are written; the logits are read

    // P.V: [16, 64] x [64, D], into the logits' space.
    fragment<accumulator, 16, 16, 16, float> pv[D / 16];
    KFOLD_UNROLL
    for (int dn = 0; dn < D / 16; ++dn) fill_fragment(pv[dn], 0.0f);
    accumulate_tile_times_rows<T, D>(probs_w, v_s, pv);
    KFOLD_UNROLL
    for (int dn = 0; dn < D / 16; ++dn) store_matrix_sync(scores_w + dn * 16, pv[dn], kLdFloat, mem_row_major);
    __syncwarp();
    const float* pv_row = scores_w + row * kLdFloat + half * (D / 2);
    KFOLD_UNROLL
    for (int d = 0; d < D / 2; ++d) o[d] = o[d] * alpha + pv_row[d];
  }

  if (qi < S) {
    const float inv = 1.0f / l;
    T* dst = p.out + (((b * R + r) * S + qi) * H + h) * D + half * (D / 2);
    KFOLD_UNROLL
    for (int d = 0; d < D / 2; ++d) to_mma(o[d] * inv, dst[d]);
    if (half == 0) p.lse[((b * R + r) * H + h) * S + qi] = m + logf(l);
  }
#endif
}

}  // namespace kfold::kernels::tensor_core

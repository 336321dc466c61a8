// Shared pieces of the tensor-core (WMMA) kernels of kfold::attention_pair_bias, bf16 and fp16 inputs on
// sm_80 and newer (attention_pair_bias_mma_forward.cuh, attention_pair_bias_mma_backward.cuh): tile
// sizes, tile loaders and shared-memory layout arithmetic.
//
// The kernels are device code written against a small environment, so that the same source also runs in
// the CPU emulation of tests/kernels/cuda_emulation.hpp: the namespace alias `wmma`, the function
// `dynamic_shared_memory()` and `to_mma(float, T&)` come from below under nvcc, or from the emulation.
#pragma once

#include <cstdint>

#include "kernels/attention_pair_bias_params.cuh"
#include "kernels/device_code.cuh"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

namespace kfold::kernels::tensor_core {
namespace wmma = nvcuda::wmma;

__device__ __forceinline__ unsigned char* dynamic_shared_memory() {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  return shared_bytes;
}
__device__ __forceinline__ void to_mma(float x, __nv_bfloat16& out) { out = __float2bfloat16_rn(x); }
__device__ __forceinline__ void to_mma(float x, __half& out) { out = __float2half_rn(x); }
}  // namespace kfold::kernels::tensor_core
#endif

namespace kfold::kernels::tensor_core {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpQueries = 16;                      // one WMMA tile of rows per warp
constexpr int kBlockQueries = kWarps * kWarpQueries;  // 64
constexpr int kKeyTile = 64;
constexpr int kHalfPad = 8;   // 16-bit elements of padding per shared row: 16 bytes (WMMA's ldm granule)
constexpr int kFloatPad = 4;  // fp32 elements of padding per shared row: 16 bytes

// Row strides (elements) of the shared tiles: [rows, D] inputs, [16, 64] 16-bit probabilities, fp32 tiles.
template <int D>
constexpr int kLdIn = D + kHalfPad;
constexpr int kLdProb = kKeyTile + kHalfPad;
constexpr int kLdFloat = kKeyTile + kFloatPad;

// Shared-memory regions are 128-byte aligned (WMMA pointers must be 32-byte aligned): the end of a
// region of `bytes` that starts at `offset`.
constexpr int region_end(int offset, int bytes) { return offset + (bytes + 127) / 128 * 128; }

// Rows first .. first + 63 of x[b, r, :, h, :] into a [64, D] shared tile of row stride kLdIn<D>; zeros past
// S (padded rows stay finite). All threads of the block take part.
template <typename T, int D>
__device__ __forceinline__ void load_rows(const StridedInput<T>& x, int64_t b, int64_t r, int64_t h, int64_t first,
                                          int64_t S, T* tile) {
  T zero;
  to_mma(0.0f, zero);
  for (int e = static_cast<int>(threadIdx.x); e < 64 * D; e += kThreads) {
    const int row = e / D, d = e % D;
    const int64_t s = first + row;
    tile[row * kLdIn<D> + d] = s < S ? x.at(b, r, s, h, d) : zero;
  }
}

// bias_bh[q0 + i, k0 + j] for a 64 x 64 tile into shared [64, kLdFloat] (0 past S).
__device__ __forceinline__ void load_bias_tile(const float* bias_bh, int64_t S, int64_t q0, int64_t k0, float* tile) {
  for (int e = static_cast<int>(threadIdx.x); e < 64 * 64; e += kThreads) {
    const int i = e / 64, j = e % 64;
    const int64_t query = q0 + i, key = k0 + j;
    tile[i * kLdFloat + j] = (query < S && key < S) ? bias_bh[query * S + key] : 0.0f;
  }
}

// The additive key mask of keys k0 .. k0 + 63 (0 without a mask; -inf past S: padded keys drop out).
__device__ __forceinline__ void load_mask_tile(const float* mask_br, int64_t S, int64_t k0, float* tile) {
  const int t = static_cast<int>(threadIdx.x);
  if (t < 64) {
    const int64_t key = k0 + t;
    tile[t] = key < S ? (mask_br != nullptr ? mask_br[key] : 0.0f) : -INFINITY;
  }
}

// The tiles the logits of queries q0 .. q0 + 63 against keys k0 .. k0 + 63 of (b, r, h) need: the keys, the
// values (unless v_s is null), the bias tile and the key mask. Params: the forward's or the backward's.
template <typename T, int D, typename Params>
__device__ __forceinline__ void load_key_tiles(const Params& p, int64_t b, int64_t r, int64_t h, int64_t q0, int64_t k0,
                                               T* k_s, T* v_s, float* bias_s, float* mask_s) {
  const int64_t S = p.S;
  load_rows<T, D>(p.k, b, r, h, k0, S, k_s);
  if (v_s != nullptr) load_rows<T, D>(p.v, b, r, h, k0, S, v_s);
  load_bias_tile(p.bias + (b * p.H + h) * S * S, S, q0, k0, bias_s);
  load_mask_tile(p.mask_bias != nullptr ? p.mask_bias + (b * p.R + r) * S : nullptr, S, k0, mask_s);
}

// Grid sizes: blocks of 64 rows per (b, r, h) (forward, dq, dk/dv), of 64 x 64 (query, key) pairs per
// (b, h) (dbias).
template <typename Params>
int64_t row_blocks(const Params& p) {
  return p.B * p.R * p.H * ((p.S + 63) / 64);
}
template <typename Params>
int64_t bias_blocks(const Params& p) {
  const int64_t n = (p.S + 63) / 64;
  return p.B * p.H * n * n;
}

// C[16, 64] = A[16, D] . B^T where B is a [64, D] row-major shared tile: the logits of 16 rows against 64
// keys (or dO against 64 values), stored to a [16, kLdFloat] fp32 tile.
template <typename T, int D, typename AFrag>
__device__ __forceinline__ void rows_times_tile_t(const AFrag (&a)[D / 16], const T* tile, float* c) {
  using namespace wmma;
  KFOLD_UNROLL
  for (int n = 0; n < 4; ++n) {
    fragment<accumulator, 16, 16, 16, float> acc;
    fill_fragment(acc, 0.0f);
    KFOLD_UNROLL
    for (int kk = 0; kk < D / 16; ++kk) {
      fragment<matrix_b, 16, 16, 16, T, col_major> b;
      load_matrix_sync(b, tile + n * 16 * kLdIn<D> + kk * 16, kLdIn<D>);
      mma_sync(acc, a[kk], b, acc);
    }
    store_matrix_sync(c + n * 16, acc, kLdFloat, mem_row_major);
  }
}

// acc[dn] += A[16, 64] . B[64, D] for a [16, kLdProb] shared A and a [64, D] row-major shared B.
template <typename T, int D, typename CFrag>
__device__ __forceinline__ void accumulate_tile_times_rows(const T* a_tile, const T* b_tile, CFrag (&acc)[D / 16]) {
  using namespace wmma;
  KFOLD_UNROLL
  for (int dn = 0; dn < D / 16; ++dn) {
    KFOLD_UNROLL
    for (int kk = 0; kk < 4; ++kk) {
      fragment<matrix_a, 16, 16, 16, T, row_major> a;
      fragment<matrix_b, 16, 16, 16, T, row_major> b;
      load_matrix_sync(a, a_tile + kk * 16, kLdProb);
      load_matrix_sync(b, b_tile + kk * 16 * kLdIn<D> + dn * 16, kLdIn<D>);
      mma_sync(acc[dn], a, b, acc[dn]);
    }
  }
}

// The block's (b, r, h) and first row, for a grid of one block per (b, r, h, 64 rows) flattened into x.
struct RowTile {
  int64_t b, r, h, first;
};
__device__ __forceinline__ RowTile row_tile(int64_t R, int64_t H, int64_t S) {
  const int64_t n_tiles = (S + 63) / 64;
  const int64_t block = static_cast<int64_t>(blockIdx.x);
  const int64_t bh = block / n_tiles;
  return {bh / (H * R), (bh / H) % R, bh % H, (block % n_tiles) * 64};
}

}  // namespace kfold::kernels::tensor_core

// CUDA kernels of kfold::attention_pair_bias: a FlashAttention-style tiled forward (online softmax in
// fp32, one query per thread, key/value/bias tiles in shared memory) and a fused backward of three
// kernels that recompute the probabilities tile by tile instead of storing them: dq (one query per
// thread; it also keeps each row's softmax max and sum), dk/dv (one key per thread) and dbias (one
// (query, key) pair per thread, summed over the R rows in order: deterministic, no atomics). fp32/bf16/
// fp16 and head dims 8 (AlphaFold's extra-MSA row attention), 16, 32 and 64; other head dims and fp64 use
// the reference. With KFOLD_ATTENTION_TENSOR_CORES=1, bf16/fp16 at head dims 16/32/64 on sm_80+ use the
// tensor-core (WMMA) kernels of attention_pair_bias_mma_*.cuh instead (opt-in until they have run on a GPU).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <c10/util/Exception.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "kernels/attention_pair_bias.hpp"
#include "kernels/attention_pair_bias_mma_backward.cuh"
#include "kernels/attention_pair_bias_mma_forward.cuh"

namespace kfold::kernels {

int attention_pair_bias_cuda_linked() { return 1; }

namespace {

constexpr int kThreads = 128;  // queries per block, one per thread

// A [B, R, S, H, D] tensor with arbitrary strides (in elements).
template <typename T>
struct Strided5 {
  const T* data;
  int64_t sb, sr, ss, sh, sd;
  __device__ const T* row(int64_t b, int64_t r, int64_t s, int64_t h) const {
    return data + b * sb + r * sr + s * ss + h * sh;
  }
};

template <typename T>
Strided5<T> strided5(const at::Tensor& t) {
  return {static_cast<const T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.stride(4)};
}

// The block of kThreads rows (queries; keys in the dk/dv kernel) of one (b, r, h) that this block
// handles, with this thread's row; the grid is flattened into gridDim.x (64-bit math).
struct RowBlock {
  int64_t b, r, h;
  int64_t first;  // the block's first row
  int64_t row;    // first + threadIdx.x
  bool active;    // row < S
};

__device__ RowBlock row_block(int64_t R, int64_t H, int64_t S) {
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
__device__ void load_key_tiles(const Strided5<scalar_t>& k, const Strided5<scalar_t>* v, const float* mask_br,
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

template <typename scalar_t>
struct ForwardParams {
  Strided5<scalar_t> q, k, v;
  const float* bias;       // [B, H, S, S] contiguous fp32
  const float* mask_bias;  // [B, R, S] contiguous fp32, or nullptr
  scalar_t* out;           // [B, R, S, H, D] contiguous
  float* lse;              // [B, R, H, S] contiguous
  int64_t B, R, S, H;
  float scale;
};

// Grid: one block per (b, r, h, block of kThreads queries), flattened into gridDim.x (64-bit math).
template <typename scalar_t, int D, int BK>
__global__ void __launch_bounds__(kThreads) attention_pair_bias_forward_kernel(const ForwardParams<scalar_t> p) {
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
#pragma unroll
    for (int d = 0; d < D; ++d) q[d] = static_cast<float>(src[d * p.q.sd]) * p.scale;
  } else {
#pragma unroll
    for (int d = 0; d < D; ++d) q[d] = 0.0f;
  }
#pragma unroll
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
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      float dot = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) dot = fmaf(q[d], k_tile[j][d], dot);
      const float x = (dot + bias_tile[tid][j]) + mask_tile[j];  // same order as the reference
      s[j] = x;
      tile_max = fmaxf(tile_max, x);
    }
    const float m_new = fmaxf(m, tile_max);  // finite: every tile holds at least one real key
    const float alpha = expf(m - m_new);     // 0 on the first tile (m = -inf)
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      s[j] = expf(s[j] - m_new);
      sum += s[j];
    }
    l = l * alpha + sum;
    m = m_new;
#pragma unroll
    for (int d = 0; d < D; ++d) acc[d] *= alpha;
#pragma unroll
    for (int j = 0; j < BK; ++j) {
#pragma unroll
      for (int d = 0; d < D; ++d) acc[d] = fmaf(s[j], v_tile[j][d], acc[d]);
    }
  }
  if (!active) return;
  const float inv = 1.0f / l;
  scalar_t* dst = p.out + (((b * p.R + r) * S + i) * p.H + h) * D;
#pragma unroll
  for (int d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(acc[d] * inv);
  p.lse[((b * p.R + r) * p.H + h) * S + i] = m + logf(l);
}

template <typename scalar_t, int D, int BK>
void launch_forward(const ForwardParams<scalar_t>& params, int64_t n_blocks) {
  TORCH_CHECK(n_blocks <= std::numeric_limits<int32_t>::max(), "attention_pair_bias: too many blocks (", n_blocks, ")");
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  attention_pair_bias_forward_kernel<scalar_t, D, BK><<<static_cast<unsigned>(n_blocks), kThreads, 0, stream>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename scalar_t>
void forward_typed(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias_f32,
                   const at::Tensor& mask_bias, at::Tensor& out, at::Tensor& lse) {
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  const ForwardParams<scalar_t> params{strided5<scalar_t>(q),
                                       strided5<scalar_t>(k),
                                       strided5<scalar_t>(v),
                                       bias_f32.data_ptr<float>(),
                                       mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                       static_cast<scalar_t*>(out.data_ptr()),
                                       lse.data_ptr<float>(),
                                       B,
                                       R,
                                       S,
                                       H,
                                       static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  const int64_t n_blocks = B * R * H * ((S + kThreads - 1) / kThreads);
  switch (D) {
    case 8:
      launch_forward<scalar_t, 8, 32>(params, n_blocks);
      break;
    case 16:
      launch_forward<scalar_t, 16, 32>(params, n_blocks);
      break;
    case 32:
      launch_forward<scalar_t, 32, 32>(params, n_blocks);
      break;
    case 64:
      launch_forward<scalar_t, 64, 16>(params, n_blocks);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: no CUDA kernel for head dim ", D);
  }
}

// The tensor-core kernels: bf16/fp16 at head dims 16/32/64 on sm_80 or newer, when
// KFOLD_ATTENTION_TENSOR_CORES=1 (read at every call, so tests and benchmarks can compare both kernels).
bool use_tensor_cores(const at::Tensor& q) {
  const char* env = std::getenv("KFOLD_ATTENTION_TENSOR_CORES");
  if (env == nullptr || std::strcmp(env, "1") != 0) return false;
  const int64_t D = q.size(4);
  const auto t = q.scalar_type();
  if (!((t == at::kBFloat16 || t == at::kHalf) && (D == 16 || D == 32 || D == 64))) return false;
  int major = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, q.get_device()));
  return major >= 8;
}

template <typename T, int D>
void launch_forward_mma(const tensor_core::ForwardParams<T>& params, int64_t n_blocks) {
  namespace tc = tensor_core;
  TORCH_CHECK(n_blocks <= std::numeric_limits<int32_t>::max(), "attention_pair_bias: too many blocks (", n_blocks, ")");
  constexpr int bytes = tc::ForwardSharedLayout<T, D>::bytes;  // 52-71 KB: above the 48 KB default
  const auto kernel = tc::attention_pair_bias_forward_mma_kernel<T, D>;
  C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  kernel<<<static_cast<unsigned>(n_blocks), tc::kThreads, bytes, stream>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// T: __nv_bfloat16 or __half, the layout twins of c10::BFloat16 and c10::Half.
static_assert(sizeof(__nv_bfloat16) == sizeof(c10::BFloat16) && sizeof(__half) == sizeof(c10::Half));
template <typename T>
void forward_mma_typed(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias_f32,
                       const at::Tensor& mask_bias, at::Tensor& out, at::Tensor& lse) {
  namespace tc = tensor_core;
  const auto strided = [](const at::Tensor& t) {
    return tc::StridedInput<T>{
        static_cast<const T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.stride(4)};
  };
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  const tc::ForwardParams<T> params{strided(q),
                                    strided(k),
                                    strided(v),
                                    bias_f32.data_ptr<float>(),
                                    mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                    static_cast<T*>(out.data_ptr()),
                                    lse.data_ptr<float>(),
                                    B,
                                    R,
                                    S,
                                    H,
                                    static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  const int64_t n_blocks = B * R * H * ((S + tc::kBlockQueries - 1) / tc::kBlockQueries);
  switch (D) {
    case 16:
      launch_forward_mma<T, 16>(params, n_blocks);
      break;
    case 32:
      launch_forward_mma<T, 32>(params, n_blocks);
      break;
    case 64:
      launch_forward_mma<T, 64>(params, n_blocks);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: no tensor-core kernel for head dim ", D);
  }
}

bool has_fused_forward(const at::Tensor& q) {
  const int64_t D = q.size(4);
  const auto t = q.scalar_type();
  return (D == 8 || D == 16 || D == 32 || D == 64) && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf);
}

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_cuda(const at::Tensor& q, const at::Tensor& k,
                                                            const at::Tensor& v, const at::Tensor& bias,
                                                            const std::optional<at::Tensor>& mask) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  if (!has_fused_forward(q)) return attention_pair_bias_reference(q, k, v, bias, mask);
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  auto out = at::empty({B, R, S, H, D}, q.options());                 // [B, R, S, H, D]
  auto lse = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));  // [B, R, H, S]
  if (out.numel() == 0) return {out, lse};
  auto bias_f32 = bias.to(at::kFloat).contiguous();  // [B, H, S, S]
  at::Tensor mask_bias;
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, at::kFloat).contiguous();  // [B,R,S]
  if (use_tensor_cores(q)) {
    if (q.scalar_type() == at::kBFloat16) {
      forward_mma_typed<__nv_bfloat16>(q, k, v, bias_f32, mask_bias, out, lse);
    } else {
      forward_mma_typed<__half>(q, k, v, bias_f32, mask_bias, out, lse);
    }
    return {out, lse};
  }
  switch (q.scalar_type()) {
    case at::kFloat:
      forward_typed<float>(q, k, v, bias_f32, mask_bias, out, lse);
      break;
    case at::kBFloat16:
      forward_typed<c10::BFloat16>(q, k, v, bias_f32, mask_bias, out, lse);
      break;
    case at::kHalf:
      forward_typed<c10::Half>(q, k, v, bias_f32, mask_bias, out, lse);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: unsupported dtype ", q.scalar_type());
  }
  return {out, lse};
}

// ---- Backward -----------------------------------------------------------------------------------
// With x_ij = (q_i . k_j) * scale + bias_ij + mask_j (the forward's order), p_ij = exp(x_ij - m_i) / l_i
// (m_i, l_i: the row's max and sum, recomputed: the forward's lse loses them in fp32 for fully masked
// rows, whose x are all near -1e9), delta_i = dO_i . O_i - dlse_i:
//   ds_ij = p_ij (dO_i . v_j - delta_i);  dq_i = scale sum_j ds_ij k_j;  dk_j = scale sum_i ds_ij q_i;
//   dv_j = sum_i p_ij dO_i;  dbias_ij = sum_r ds_ij.

template <typename scalar_t>
struct BackwardParams {
  Strided5<scalar_t> q, k, v, grad_out;
  const float* bias;       // [B, H, S, S] contiguous fp32
  const float* mask_bias;  // [B, R, S] contiguous fp32, or nullptr
  const float* delta;      // [B, R, H, S] contiguous
  float* row_max;          // [B, R, H, S]: written by the dq kernel, read by the others
  float* row_sum;          // [B, R, H, S]
  scalar_t* grad_q;        // [B, R, S, H, D] contiguous
  scalar_t* grad_k;        // [B, R, S, H, D] contiguous
  scalar_t* grad_v;        // [B, R, S, H, D] contiguous
  float* grad_bias;        // [B, H, S, S] contiguous fp32
  int64_t B, R, S, H;
  float scale;
};

// dq, and each row's softmax max and sum. Grid: one block per (b, r, h, block of kThreads queries).
template <typename scalar_t, int D, int BK>
__global__ void __launch_bounds__(kThreads) attention_pair_bias_backward_dq_kernel(const BackwardParams<scalar_t> p) {
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
#pragma unroll
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
#pragma unroll
    for (int d = 0; d < D; ++d) dot = fmaf(q[d], k_tile[j][d], dot);
    return (dot + bias_tile[tid][j]) + mask_tile[j];  // as the forward
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
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      x[j] = logit(j);
      tile_max = fmaxf(tile_max, x[j]);
    }
    const float m_new = fmaxf(m, tile_max);
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < BK; ++j) sum += expf(x[j] - m_new);
    l = l * expf(m - m_new) + sum;
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
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      const float prob = expf(logit(j) - m) * inv_l;
      float dp = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) dp = fmaf(go[d], v_tile[j][d], dp);
      const float ds = prob * (dp - delta);
#pragma unroll
      for (int d = 0; d < D; ++d) dq[d] = fmaf(ds, k_tile[j][d], dq[d]);
    }
  }
  if (!active) return;
  scalar_t* dst = p.grad_q + (((b * p.R + r) * S + i) * p.H + h) * D;
#pragma unroll
  for (int d = 0; d < D; ++d) dst[d] = static_cast<scalar_t>(dq[d] * p.scale);
  p.row_max[stat] = m;
  p.row_sum[stat] = l;
}

// dk and dv. Grid: one block per (b, r, h, block of kThreads keys); query tiles of BQ in shared memory.
template <typename scalar_t, int D, int BQ>
__global__ void __launch_bounds__(kThreads) attention_pair_bias_backward_dkv_kernel(const BackwardParams<scalar_t> p) {
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
#pragma unroll
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
#pragma unroll 4
    for (int row = 0; row < BQ; ++row) {
      float dot = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) {
        dot = fmaf(q_tile[row][d], kj[d], dot);
        dp = fmaf(go_tile[row][d], vj[d], dp);
      }
      const float x = (dot + bias_tile[row][tid]) + mask_j;
      const float prob = expf(x - m_tile[row]) * inv_l_tile[row];
      const float ds = prob * (dp - delta_tile[row]);
#pragma unroll
      for (int d = 0; d < D; ++d) {
        dv[d] = fmaf(prob, go_tile[row][d], dv[d]);
        dk[d] = fmaf(ds, q_tile[row][d], dk[d]);  // q is scaled: dk = scale sum ds q
      }
    }
  }
  if (!active) return;
  const int64_t out_row = (((b * p.R + r) * S + j) * p.H + h) * D;
#pragma unroll
  for (int d = 0; d < D; ++d) {
    p.grad_k[out_row + d] = static_cast<scalar_t>(dk[d]);
    p.grad_v[out_row + d] = static_cast<scalar_t>(dv[d]);
  }
}

constexpr int kBiasTile = 16;  // dbias: kBiasTile x kBiasTile (query, key) pairs per block, one per thread

// dbias, summed over the rows r = 0..R-1 in order. Grid: one block per (b, h, query tile, key tile).
template <typename scalar_t, int D>
__global__ void __launch_bounds__(kBiasTile* kBiasTile)
    attention_pair_bias_backward_dbias_kernel(const BackwardParams<scalar_t> p) {
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
#pragma unroll
    for (int d = 0; d < D; ++d) {
      dot = fmaf(q_tile[ti][d], k_tile[tj][d], dot);
      dp = fmaf(go_tile[ti][d], v_tile[tj][d], dp);
    }
    const float x = (dot + bias_ij) + mask_tile[tj];
    const float prob = expf(x - m_tile[ti]) * inv_l_tile[ti];
    acc += prob * (dp - delta_tile[ti]);
  }
  if (active) p.grad_bias[((b * p.H + h) * S + i) * S + j] = acc;
}

template <typename scalar_t, int D, int BK, int BQ>
void launch_backward(const BackwardParams<scalar_t>& params) {
  const int64_t S = params.S;
  const int64_t n_row_blocks = params.B * params.R * params.H * ((S + kThreads - 1) / kThreads);
  const int64_t n_tiles = (S + kBiasTile - 1) / kBiasTile;
  const int64_t n_bias_blocks = params.B * params.H * n_tiles * n_tiles;
  TORCH_CHECK(
      n_row_blocks <= std::numeric_limits<int32_t>::max() && n_bias_blocks <= std::numeric_limits<int32_t>::max(),
      "attention_pair_bias: too many blocks for the backward (", n_row_blocks, ", ", n_bias_blocks, ")");
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  // In stream order: the dq kernel writes the row statistics the other two read.
  attention_pair_bias_backward_dq_kernel<scalar_t, D, BK>
      <<<static_cast<unsigned>(n_row_blocks), kThreads, 0, stream>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  attention_pair_bias_backward_dkv_kernel<scalar_t, D, BQ>
      <<<static_cast<unsigned>(n_row_blocks), kThreads, 0, stream>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  attention_pair_bias_backward_dbias_kernel<scalar_t, D>
      <<<static_cast<unsigned>(n_bias_blocks), kBiasTile * kBiasTile, 0, stream>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T, int D>
void launch_backward_mma(const tensor_core::BackwardParams<T>& params) {
  namespace tc = tensor_core;
  const int64_t S = params.S;
  const int64_t n_tiles = (S + 63) / 64;
  const int64_t n_row_blocks = params.B * params.R * params.H * n_tiles;
  const int64_t n_bias_blocks = params.B * params.H * n_tiles * n_tiles;
  TORCH_CHECK(
      n_row_blocks <= std::numeric_limits<int32_t>::max() && n_bias_blocks <= std::numeric_limits<int32_t>::max(),
      "attention_pair_bias: too many blocks for the backward (", n_row_blocks, ", ", n_bias_blocks, ")");
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const auto launch = [&](auto kernel, int bytes, int64_t blocks) {
    C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    kernel<<<static_cast<unsigned>(blocks), tc::kThreads, bytes, stream>>>(params);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  };
  // In stream order: the dq kernel writes the row statistics the other two read.
  launch(tc::attention_pair_bias_backward_dq_mma_kernel<T, D>, tc::DqSharedLayout<T, D>::bytes, n_row_blocks);
  launch(tc::attention_pair_bias_backward_dkv_mma_kernel<T, D>, tc::DkvSharedLayout<T, D>::bytes, n_row_blocks);
  launch(tc::attention_pair_bias_backward_dbias_mma_kernel<T, D>, tc::DbiasSharedLayout<T, D>::bytes, n_bias_blocks);
}

// T: __nv_bfloat16 or __half (see forward_mma_typed).
template <typename T>
void backward_mma_typed(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                        const at::Tensor& bias_f32, const at::Tensor& mask_bias, const at::Tensor& delta,
                        at::Tensor& row_max, at::Tensor& row_sum, at::Tensor& grad_q, at::Tensor& grad_k,
                        at::Tensor& grad_v, at::Tensor& grad_bias) {
  namespace tc = tensor_core;
  const auto strided = [](const at::Tensor& t) {
    return tc::StridedInput<T>{
        static_cast<const T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.stride(4)};
  };
  const int64_t D = q.size(4);
  const tc::BackwardParams<T> params{strided(q),
                                     strided(k),
                                     strided(v),
                                     strided(grad_out),
                                     bias_f32.data_ptr<float>(),
                                     mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                     delta.data_ptr<float>(),
                                     row_max.data_ptr<float>(),
                                     row_sum.data_ptr<float>(),
                                     static_cast<T*>(grad_q.data_ptr()),
                                     static_cast<T*>(grad_k.data_ptr()),
                                     static_cast<T*>(grad_v.data_ptr()),
                                     grad_bias.data_ptr<float>(),
                                     q.size(0),
                                     q.size(1),
                                     q.size(2),
                                     q.size(3),
                                     static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  switch (D) {
    case 16:
      launch_backward_mma<T, 16>(params);
      break;
    case 32:
      launch_backward_mma<T, 32>(params);
      break;
    case 64:
      launch_backward_mma<T, 64>(params);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: no tensor-core backward for head dim ", D);
  }
}

template <typename scalar_t>
void backward_typed(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& bias_f32, const at::Tensor& mask_bias, const at::Tensor& delta,
                    at::Tensor& row_max, at::Tensor& row_sum, at::Tensor& grad_q, at::Tensor& grad_k,
                    at::Tensor& grad_v, at::Tensor& grad_bias) {
  const int64_t D = q.size(4);
  const BackwardParams<scalar_t> params{strided5<scalar_t>(q),
                                        strided5<scalar_t>(k),
                                        strided5<scalar_t>(v),
                                        strided5<scalar_t>(grad_out),
                                        bias_f32.data_ptr<float>(),
                                        mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                        delta.data_ptr<float>(),
                                        row_max.data_ptr<float>(),
                                        row_sum.data_ptr<float>(),
                                        static_cast<scalar_t*>(grad_q.data_ptr()),
                                        static_cast<scalar_t*>(grad_k.data_ptr()),
                                        static_cast<scalar_t*>(grad_v.data_ptr()),
                                        grad_bias.data_ptr<float>(),
                                        q.size(0),
                                        q.size(1),
                                        q.size(2),
                                        q.size(3),
                                        static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  switch (D) {
    case 8:
      launch_backward<scalar_t, 8, 32, 32>(params);
      break;
    case 16:
      launch_backward<scalar_t, 16, 32, 32>(params);
      break;
    case 32:
      launch_backward<scalar_t, 32, 32, 16>(params);
      break;
    case 64:
      launch_backward<scalar_t, 64, 16, 8>(params);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: no CUDA backward for head dim ", D);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_cuda(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  const c10::cuda::CUDAGuard guard(q.device());
  if (!has_fused_forward(q) || grad_out.scalar_type() != q.scalar_type()) {
    return attention_pair_bias_backward_reference(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  }
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  auto grad_q = at::empty({B, R, S, H, D}, q.options());  // [B, R, S, H, D]
  auto grad_k = at::empty({B, R, S, H, D}, k.options());
  auto grad_v = at::empty({B, R, S, H, D}, v.options());
  auto grad_bias = at::zeros({B, H, S, S}, bias.options().dtype(at::kFloat));  // [B, H, S, S]
  if (grad_q.numel() == 0) return {grad_q, grad_k, grad_v, grad_bias.to(bias.scalar_type())};
  // delta = dO . O - dlse  [B, R, H, S]
  auto delta = grad_out.to(at::kFloat).mul(out.to(at::kFloat)).sum(-1).permute({0, 1, 3, 2});
  if (grad_lse.has_value() && grad_lse->defined()) delta = delta.sub(grad_lse->to(at::kFloat));
  delta = delta.contiguous();
  auto row_max = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));
  auto row_sum = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));
  auto bias_f32 = bias.to(at::kFloat).contiguous();  // [B, H, S, S]
  at::Tensor mask_bias;
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, at::kFloat).contiguous();  // [B,R,S]
  if (use_tensor_cores(q)) {
    if (q.scalar_type() == at::kBFloat16) {
      backward_mma_typed<__nv_bfloat16>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k,
                                        grad_v, grad_bias);
    } else {
      backward_mma_typed<__half>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k,
                                 grad_v, grad_bias);
    }
    return {grad_q, grad_k, grad_v, grad_bias.to(bias.scalar_type())};
  }
  switch (q.scalar_type()) {
    case at::kFloat:
      backward_typed<float>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k, grad_v,
                            grad_bias);
      break;
    case at::kBFloat16:
      backward_typed<c10::BFloat16>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k,
                                    grad_v, grad_bias);
      break;
    case at::kHalf:
      backward_typed<c10::Half>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k, grad_v,
                                grad_bias);
      break;
    default:
      TORCH_CHECK(false, "attention_pair_bias: unsupported dtype ", q.scalar_type());
  }
  return {grad_q, grad_k, grad_v, grad_bias.to(bias.scalar_type())};
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, CUDA, m) {
  m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_cuda);
  m.impl("attention_pair_bias_backward", &kfold::kernels::attention_pair_bias_backward_cuda);
}

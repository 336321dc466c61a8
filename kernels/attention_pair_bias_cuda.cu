// CUDA kernels of kfold::attention_pair_bias: a FlashAttention-style tiled forward (online softmax in
// fp32, one query per thread, key/value/bias tiles in shared memory) for fp32/bf16/fp16 and head dims
// 16/32/64; other head dims and fp64 use the reference. The backward is the reference for now.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/attention_pair_bias.hpp"

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
  __shared__ float bias_tile[kThreads][BK + 1];  // +1: no bank conflicts when thread t reads row t
  __shared__ float mask_tile[BK];

  const int64_t S = p.S;
  const int64_t n_qblk = (S + kThreads - 1) / kThreads;
  const int64_t block = static_cast<int64_t>(blockIdx.x);
  const int64_t qb = block % n_qblk, bh = block / n_qblk;
  const int64_t h = bh % p.H, r = (bh / p.H) % p.R, b = bh / (p.H * p.R);
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t q0 = qb * kThreads, i = q0 + tid;
  const bool active = i < S;

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
    for (int e = tid; e < BK * D; e += kThreads) {
      const int j = e / D, d = e % D;
      const int64_t key = k0 + j;
      float kv = 0.0f, vv = 0.0f;
      if (key < S) {
        kv = static_cast<float>(p.k.row(b, r, key, h)[d * p.k.sd]);
        vv = static_cast<float>(p.v.row(b, r, key, h)[d * p.v.sd]);
      }
      k_tile[j][d] = kv;
      v_tile[j][d] = vv;
    }
    for (int e = tid; e < kThreads * BK; e += kThreads) {
      const int row = e / BK, j = e % BK;
      const int64_t qi = q0 + row, key = k0 + j;
      bias_tile[row][j] = (qi < S && key < S) ? bias_bh[qi * S + key] : 0.0f;
    }
    if (tid < BK) {
      const int64_t key = k0 + tid;
      mask_tile[tid] = key < S ? (mask_br != nullptr ? mask_br[key] : 0.0f) : -INFINITY;  // padded keys drop out
    }
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

bool has_fused_forward(const at::Tensor& q) {
  const int64_t D = q.size(4);
  const auto t = q.scalar_type();
  return (D == 16 || D == 32 || D == 64) && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf);
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

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_cuda(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  const c10::cuda::CUDAGuard guard(q.device());
  return attention_pair_bias_backward_reference(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, CUDA, m) {
  m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_cuda);
  m.impl("attention_pair_bias_backward", &kfold::kernels::attention_pair_bias_backward_cuda);
}

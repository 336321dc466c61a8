// The kernel arguments of kfold::attention_pair_bias on CUDA, shared by the CUDA-core kernels
// (attention_pair_bias_simt.cuh, T = float, c10::BFloat16, c10::Half) and the tensor-core ones
// (attention_pair_bias_mma_*.cuh, T = __nv_bfloat16, __half or, in the tests' emulation, c10's types),
// and their host-side builders from tensors (used by the launcher and by the emulation tests).
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>

#include "kernels/device_code.cuh"

namespace kfold::kernels {

// A [B, R, S, H, D] tensor with any strides (in elements).
template <typename T>
struct StridedInput {
  const T* data;
  int64_t sb, sr, ss, sh, sd;
  __device__ __forceinline__ const T* row(int64_t b, int64_t r, int64_t s, int64_t h) const {
    return data + b * sb + r * sr + s * ss + h * sh;
  }
  __device__ __forceinline__ T at(int64_t b, int64_t r, int64_t s, int64_t h, int d) const {
    return row(b, r, s, h)[d * sd];
  }
};

template <typename T>
struct AttentionForwardParams {
  StridedInput<T> q, k, v;
  const float* bias;       // [B, H, S, S] contiguous fp32
  const float* mask_bias;  // [B, R, S] contiguous fp32 (0 or -1e9), or nullptr
  T* out;                  // [B, R, S, H, D] contiguous
  float* lse;              // [B, R, H, S] contiguous
  int64_t B, R, S, H;
  float scale;  // 1 / sqrt(D)
};

template <typename T>
struct AttentionBackwardParams {
  StridedInput<T> q, k, v, grad_out;
  const float* bias;       // [B, H, S, S] contiguous fp32
  const float* mask_bias;  // [B, R, S] contiguous fp32, or nullptr
  const float* delta;      // [B, R, H, S] contiguous: dO . O - dlse
  float* row_max;          // [B, R, H, S]: written by the dq kernel, read by the others
  float* row_sum;          // [B, R, H, S]
  T* grad_q;               // [B, R, S, H, D] contiguous
  T* grad_k;               // [B, R, S, H, D] contiguous
  T* grad_v;               // [B, R, S, H, D] contiguous
  float* grad_bias;        // [B, H, S, S] contiguous fp32
  int64_t B, R, S, H;
  float scale;
};

template <typename T>
StridedInput<T> strided_input(const at::Tensor& t) {
  return {static_cast<const T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.stride(4)};
}

inline float attention_scale(const at::Tensor& q) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.size(4))));
}

template <typename T>
const T* optional_data(const at::Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

// bias_f32: [B, H, S, S] fp32 contiguous; mask_bias: [B, R, S] fp32 contiguous or undefined; out like q
// but contiguous; lse [B, R, H, S] fp32.
template <typename T>
AttentionForwardParams<T> forward_params(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                         const at::Tensor& bias_f32, const at::Tensor& mask_bias, at::Tensor& out,
                                         at::Tensor& lse) {
  return {strided_input<T>(q),
          strided_input<T>(k),
          strided_input<T>(v),
          static_cast<const float*>(bias_f32.data_ptr()),
          optional_data<float>(mask_bias),
          static_cast<T*>(out.data_ptr()),
          static_cast<float*>(lse.data_ptr()),
          q.size(0),
          q.size(1),
          q.size(2),
          q.size(3),
          attention_scale(q)};
}

// delta, row_max, row_sum: [B, R, H, S] fp32; grad_q/k/v like q but contiguous; grad_bias [B, H, S, S] fp32.
template <typename T>
AttentionBackwardParams<T> backward_params(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, const at::Tensor& bias_f32, const at::Tensor& mask_bias,
                                           const at::Tensor& delta, at::Tensor& row_max, at::Tensor& row_sum,
                                           at::Tensor& grad_q, at::Tensor& grad_k, at::Tensor& grad_v,
                                           at::Tensor& grad_bias) {
  return {strided_input<T>(q),
          strided_input<T>(k),
          strided_input<T>(v),
          strided_input<T>(grad_out),
          static_cast<const float*>(bias_f32.data_ptr()),
          optional_data<float>(mask_bias),
          static_cast<const float*>(delta.data_ptr()),
          static_cast<float*>(row_max.data_ptr()),
          static_cast<float*>(row_sum.data_ptr()),
          static_cast<T*>(grad_q.data_ptr()),
          static_cast<T*>(grad_k.data_ptr()),
          static_cast<T*>(grad_v.data_ptr()),
          static_cast<float*>(grad_bias.data_ptr()),
          q.size(0),
          q.size(1),
          q.size(2),
          q.size(3),
          attention_scale(q)};
}

}  // namespace kfold::kernels

// Attention with a pair bias, the shape AlphaFold2 uses in MSA row attention (supplement Alg. 7) and
// triangle attention around the starting / ending node (Alg. 13, 14): the torch op
// kfold::attention_pair_bias (fused CPU and CUDA kernels) and its plain libtorch reference.
//
// Semantics, for every batch b, row r, head h, query i and key j:
//   s[b,r,h,i,j] = ((q[b,r,i,h,:] / sqrt(D)) . k[b,r,j,h,:] + 1e9 * (mask[b,r,j] - 1)) + bias[b,h,i,j]
//   (the mask added first, as AlphaFold v2.0-v2.3.1 and ColabFold: it matters in a fully masked fp32 row, see
//   below; v2.3.2 puts -1e9 in place of a masked logit after the bias, which changes only such rows, and in kfold's
//   model those are padding whose outputs reach no prediction)
//   out[b,r,i,h,:] = sum_j softmax_j(s)[j] * v[b,r,j,h,:]          lse[b,r,h,i] = logsumexp_j s
// - q, k, v: [B, R, S, H, D], any strides (transposed views, e.g. the ending node's, are read in place).
// - bias:    [B, H, S, S], shared by all R rows.            mask: [B, R, S] or absent (1 keep, 0 drop).
// - The 1/sqrt(D) scale is applied inside the op (to q): callers pass unscaled projections.
// - Logits are accumulated in fp32 (fp64 for double inputs); out has q's dtype, lse the accumulation
//   dtype (fp32 for fp32/bf16/fp16 inputs, fp64 for double).
// - Masked keys get AlphaFold's additive -1e9, not -inf. A fully masked query row therefore has every
//   logit shifted by the same -1e9: in fp32 fl(q.k - 1e9) + bias is -1e9 exactly while both stay under
//   32 in magnitude, so the row is the uniform average of v over all S keys, and beyond that it is what
//   AlphaFold's fp32 arithmetic in the same order gives; in fp64 the shift cancels and the row is the
//   unmasked softmax. The fused kernels reproduce the reference in both cases. A pair bias of -inf is
//   allowed (those keys get weight 0; a row of -inf only gives NaN, as softmax does).
// - Gradients flow to q, k, v and bias (dbias is reduced over the R rows, deterministically); the
//   mask gets none.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <tuple>

namespace kfold::kernels {

// The fused op through the dispatcher (autograd-aware): returns (out [B,R,S,H,D], lse [B,R,H,S]).
std::tuple<at::Tensor, at::Tensor> attention_pair_bias(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                       const at::Tensor& bias,
                                                       const std::optional<at::Tensor>& mask = std::nullopt);

// The backward op through the dispatcher (the autograd function calls it): (dq, dk, dv, dbias) from the
// upstream gradients of out and (optionally) lse; the fused kernel of the inputs' device.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse);

// Plain libtorch reference (materialises the [B,R,H,S,S] logits; differentiable through autograd).
std::tuple<at::Tensor, at::Tensor> attention_pair_bias_reference(const at::Tensor& q, const at::Tensor& k,
                                                                 const at::Tensor& v, const at::Tensor& bias,
                                                                 const std::optional<at::Tensor>& mask = std::nullopt);

// Plain libtorch backward (materialises the logits): (dq, dk, dv, dbias) from the upstream gradients
// of out and (optionally) lse. Used by the tests, and by the CUDA backward for head dims and dtypes
// without a fused kernel.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_reference(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse);

// The backward's row term delta = dO . O - dlse, [B, R, H, S] in fp32, from grad_out and out [B, R, S, H, D]
// (any dtype and strides, read only) and grad_lse [B, R, H, S] when given: the CUDA backward's first step.
at::Tensor attention_backward_delta(const at::Tensor& grad_out, const at::Tensor& out,
                                    const std::optional<at::Tensor>& grad_lse);

// The kernels the op runs on CUDA for inputs like q (its dtype, head dim and device, with
// KFOLD_ATTENTION_TENSOR_CORES as set now), forward and backward: "tensor cores", "cuda cores" or
// "reference" (no fused kernel for them in this build or on this device); "none" in a build without CUDA.
// Tests and benchmarks ask it, so that a silent fallback cannot pass for the kernel they mean to measure.
struct AttentionCudaKernels {
  const char* forward;
  const char* backward;
};
AttentionCudaKernels attention_pair_bias_cuda_kernels(const at::Tensor& q);

// Checks shapes, dtypes and devices of the op's arguments (TORCH_CHECK: throws c10::Error).
void check_attention_pair_bias_args(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& bias, const std::optional<at::Tensor>& mask);

// The forward's checks, and grad_out and out shaped like q and of its dtype, lse and grad_lse (when given)
// [B, R, H, S], all on q's device (TORCH_CHECK: throws c10::Error).
void check_attention_pair_bias_backward_args(const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse,
                                             const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& bias, const std::optional<at::Tensor>& mask,
                                             const at::Tensor& out, const at::Tensor& lse);

// The additive mask term 1e9 * (mask - 1) in `dtype`, shaped [B, R, S] (mask may be bool or floating).
at::Tensor attention_mask_bias(const at::Tensor& mask, at::ScalarType dtype);

// Accumulation dtype of the op for an input dtype: kDouble for double, else kFloat.
at::ScalarType attention_accumulate_type(at::ScalarType input);

}  // namespace kfold::kernels

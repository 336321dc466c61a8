// Linear and LayerNorm as AlphaFold's common_modules (weights [in, out], LayerNorm eps 1e-5 with
// scale and offset), built from a parameter scope; shared by every model module.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "fold/weights.hpp"

namespace kfold::fold {

// y = x @ weights + bias over the last axis. AlphaFold keys: "<scope>//weights" [c_in, c_out],
// "<scope>//bias" [c_out].
class Linear {
 public:
  Linear() = default;
  Linear(const ParameterScope& scope, int64_t c_in, int64_t c_out, bool use_bias = true);
  // Weights given directly (e.g. attention's [c, n_head, head_dim] reshaped to [c, n_head * head_dim]).
  Linear(at::Tensor weights, at::Tensor bias) : weights_(std::move(weights)), bias_(std::move(bias)) {}

  // [..., c_in] -> [..., c_out], in x's dtype; relu: max(0, y) fused into the product where it can be.
  at::Tensor forward(const at::Tensor& x, bool relu = false) const;
  // forward(one_hot(index, c_in)) in `dtype` without the one-hot tensor: a one-hot row's product is the weight
  // row it picks, so the rows at `index` are gathered, plus the bias. index: [...] integers in [0, c_in).
  at::Tensor forward_one_hot(const at::Tensor& index, c10::ScalarType dtype) const;
  // The same values with the output channels first: [..., c_in] -> [c_out, ...], contiguous (one matrix
  // product with transposed operands; for a per-channel batched product after it, no copy of a permuted view).
  at::Tensor forward_channels_first(const at::Tensor& x) const;
  // The output channels [start, start + length) alone (views of the weights): forward gives [..., length].
  Linear columns(int64_t start, int64_t length) const;
  int64_t c_in() const { return weights_.size(0); }
  int64_t c_out() const { return weights_.size(1); }

 private:
  at::Tensor weights_;  // [c_in, c_out]
  at::Tensor bias_;     // [c_out] or undefined
};

// LayerNorm over the last axis. AlphaFold keys: "<scope>//scale", "<scope>//offset" [c].
class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(const ParameterScope& scope, int64_t c);
  at::Tensor forward(const at::Tensor& x) const;  // [..., c] -> [..., c]

 private:
  at::Tensor scale_;   // [c]
  at::Tensor offset_;  // [c]
};

// AlphaFold's additive mask bias, 1e9 * (mask - 1): 0 where kept, -1e9 where masked.
at::Tensor mask_bias(const at::Tensor& mask);

// x.sigmoid_() (the gates), with results independent of the thread count on the CPU: ATen splits a large
// tensor among the threads and computes each part's last elements past a multiple of its vector unroll
// with std::exp, the others with the vectorised exp, whose last bits differ. Here the parts are blocks of
// a fixed size, whatever the thread count. Returns x.
at::Tensor sigmoid_thread_invariant_(at::Tensor x);

}  // namespace kfold::fold

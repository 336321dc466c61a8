// Linear and LayerNorm as AlphaFold's common_modules, the mask bias, and the gates' thread-invariant sigmoid.
#include "fold/common_modules.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/layer_norm.h>

#include <algorithm>
#include <vector>

#include "fold/cpu_matmul.hpp"

namespace kfold::fold {

Linear::Linear(const ParameterScope& scope, int64_t c_in, int64_t c_out, bool use_bias)
    : weights_(scope.get("weights", {c_in, c_out})), bias_(use_bias ? scope.get("bias", {c_out}) : at::Tensor()) {}

at::Tensor Linear::forward(const at::Tensor& x, bool relu) const {
  auto shape = x.sizes().vec();
  shape.back() = weights_.size(1);
  // Weights are stored in float32 and computed in the activations' dtype (bfloat16 in a mixed-precision
  // trunk): the cast is a no-op in float32.
  const auto flat = x.reshape({-1, weights_.size(0)});                                        // [n, c_in]
  return matmul_transposed(flat, weights_.to(x.scalar_type()).t(), bias_, relu).view(shape);  // [..., c_out]
}

at::Tensor Linear::forward_one_hot(const at::Tensor& index, c10::ScalarType dtype) const {
  auto shape = index.sizes().vec();
  shape.push_back(weights_.size(1));
  auto out = weights_.index_select(0, index.reshape({-1}).to(at::kLong)).to(dtype);  // [n, c_out]
  if (bias_.defined()) out.add_(bias_.to(dtype));
  return out.view(shape);  // [..., c_out]
}

at::Tensor Linear::forward_channels_first(const at::Tensor& x) const {
  std::vector<int64_t> shape{weights_.size(1)};
  shape.insert(shape.end(), x.sizes().begin(), x.sizes().end() - 1);
  const auto flat = x.reshape({-1, weights_.size(0)});                               // [n, c_in]
  auto y = matmul_transposed(weights_.to(x.scalar_type()).t(), flat, at::Tensor());  // [c_out, n]
  if (bias_.defined()) y.add_(bias_.to(x.scalar_type()).unsqueeze(1));
  return y.view(shape);  // [c_out, ...]
}

Linear Linear::columns(int64_t start, int64_t length) const {
  return {weights_.narrow(1, start, length), bias_.defined() ? bias_.narrow(0, start, length) : at::Tensor()};
}

LayerNorm::LayerNorm(const ParameterScope& scope, int64_t c)
    : scale_(scope.get("scale", {c})), offset_(scope.get("offset", {c})) {}

at::Tensor LayerNorm::forward(const at::Tensor& x) const {
  if (x.scalar_type() == scale_.scalar_type()) return at::layer_norm(x, {scale_.size(0)}, scale_, offset_, 1e-5);
  // Reduced precision: statistics in float32, as AlphaFold's LayerNorm does for bfloat16 inputs.
  return at::layer_norm(x.to(scale_.scalar_type()), {scale_.size(0)}, scale_, offset_, 1e-5)
      .to(x.scalar_type());  // [..., c]
}

at::Tensor mask_bias(const at::Tensor& mask) { return mask.sub(1.0).mul(1e9); }

at::Tensor sigmoid_thread_invariant_(at::Tensor x) {
  constexpr int64_t kBlock = 32768;  // ATen's grain size: a block runs on one thread; a multiple of any unroll
  if (!x.device().is_cpu() || x.numel() <= kBlock || !x.is_contiguous()) return x.sigmoid_();
  auto flat = x.view({-1});
  const int64_t n_blocks = (flat.numel() + kBlock - 1) / kBlock;
  at::parallel_for(0, n_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)  // ATen inside a parallel region: this thread only
      flat.narrow(0, b * kBlock, std::min(kBlock, flat.numel() - b * kBlock)).sigmoid_();
  });
  return x;
}

}  // namespace kfold::fold

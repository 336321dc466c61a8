// Triangle multiplicative update, outgoing (Suppl. Alg. 11) and incoming (Alg. 12) edges.
#include "fold/triangle_multiplication.hpp"

#include <ATen/ops/bmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>

#include <algorithm>

#include "data/error.hpp"

namespace kfold::fold {

TriangleMultiplication::TriangleMultiplication(const ParameterScope& scope, const TriangleMultiplicationConfig& config,
                                               int64_t c_z)
    : outgoing_(config.equation == "ikc,jkc->ijc"),
      fused_(config.fuse_projection_weights),
      c_(config.num_intermediate_channel) {
  if (!outgoing_ && config.equation != "kjc,kic->ijc")
    fail_input(
        "{}: triangle multiplication equation '{}' is neither 'ikc,jkc->ijc' (outgoing) nor "
        "'kjc,kic->ijc' (incoming)",
        scope.prefix(), config.equation);
  if (fused_) {
    input_norm_ = LayerNorm(scope / "left_norm_input", c_z);
    projection_ = Linear(scope / "projection", c_z, 2 * c_);
    gate_ = Linear(scope / "gate", c_z, 2 * c_);
    center_norm_ = LayerNorm(scope / "center_norm", c_);
  } else {
    input_norm_ = LayerNorm(scope / "layer_norm_input", c_z);
    left_projection_ = Linear(scope / "left_projection", c_z, c_);
    right_projection_ = Linear(scope / "right_projection", c_z, c_);
    left_gate_ = Linear(scope / "left_gate", c_z, c_);
    right_gate_ = Linear(scope / "right_gate", c_z, c_);
    center_norm_ = LayerNorm(scope / "center_layer_norm", c_);
  }
  output_projection_ = Linear(scope / "output_projection", c_, c_z);
  gating_linear_ = Linear(scope / "gating_linear", c_z, c_z);
}

std::pair<at::Tensor, at::Tensor> TriangleMultiplication::projections(const at::Tensor& act, const at::Tensor& mask,
                                                                      int64_t start, int64_t length) const {
  const auto gated = [&](const Linear& projection, const Linear& gate, int64_t offset) {
    const auto p = projection.columns(offset + start, length), g = gate.columns(offset + start, length);
    return p.forward_channels_first(act).mul_(mask).mul_(
        sigmoid_thread_invariant_(g.forward_channels_first(act)));  // [length, n_res, n_res]
  };
  if (fused_) return {gated(projection_, gate_, 0), gated(projection_, gate_, c_)};
  return {gated(left_projection_, left_gate_, 0), gated(right_projection_, right_gate_, 0)};
}

at::Tensor TriangleMultiplication::forward(const at::Tensor& pair, const at::Tensor& pair_mask,
                                           const RunOptions& options) const {
  const int64_t n_res = pair.size(0);
  const auto act = input_norm_.forward(pair);  // [n_res, n_res, c_z]
  // Channel-batched matrix products on the channel-first edges (contiguous, so BLAS reads them in place):
  // outgoing sum_k left[c,i,k] right[c,j,k]; incoming sum_k left[c,k,j] right[c,k,i].
  const auto multiply = [&](at::Tensor& out, const at::Tensor& left, const at::Tensor& right) {  // [n, n_res, n_res]
    if (outgoing_)
      at::bmm_out(out, left, right.transpose(1, 2));
    else
      at::bmm_out(out, right.transpose(1, 2), left);
  };
  // product [c, rows, n_res] and act_rows [rows, n_res, c_z] -> the update's rows [rows, n_res, c_z].
  const auto finish = [&](const at::Tensor& product, const at::Tensor& act_rows) {
    const auto centered = center_norm_.forward(product.permute({1, 2, 0}));  // [rows, n_res, c]
    return output_projection_.forward(centered).mul(
        sigmoid_thread_invariant_(gating_linear_.forward(act_rows)));  // [rows, n_res, c_z]
  };
  auto product = at::empty({c_, n_res, n_res}, act.options());  // [c, n_res, n_res]
  if (options.chunk_size <= 0) {
    const auto [left, right] = projections(act, pair_mask, 0, c_);
    multiply(product, left, right);
    return finish(product, act);
  }
  // Chunked (long sequences): the projections a quarter of the channels at a time, the output by row
  // chunks, so no [2c, n_res, n_res] projection or [n_res, n_res, c_z] output transient coexists with
  // the [c, n_res, n_res] products. Each channel's product is the same matrix product as unchunked.
  const int64_t group = std::max<int64_t>(1, c_ / 4);
  for (int64_t start = 0; start < c_; start += group) {
    const int64_t length = std::min(group, c_ - start);
    const auto [left, right] = projections(act, pair_mask, start, length);
    auto out = product.narrow(0, start, length);
    multiply(out, left, right);
  }
  auto out = at::empty_like(pair);  // [n_res, n_res, c_z]
  for (int64_t row = 0; row < n_res; row += options.chunk_size) {
    const int64_t rows = std::min(options.chunk_size, n_res - row);
    out.narrow(0, row, rows).copy_(finish(product.narrow(1, row, rows), act.narrow(0, row, rows)));
  }
  return out;
}

}  // namespace kfold::fold

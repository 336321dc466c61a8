// Triangle multiplicative update, outgoing (Suppl. Alg. 11) and incoming (Alg. 12) edges.
#include "fold/triangle_multiplication.hpp"

#include <ATen/ops/matmul.h>

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

at::Tensor TriangleMultiplication::forward(const at::Tensor& pair, const at::Tensor& pair_mask,
                                           const RunOptions& /*options*/) const {
  const auto mask = pair_mask.unsqueeze(-1);   // [n_res, n_res, 1]
  const auto act = input_norm_.forward(pair);  // [n_res, n_res, c_z]
  at::Tensor left, right;                      // [n_res, n_res, c]
  if (fused_) {
    const auto proj = mask.mul(projection_.forward(act)).mul(gate_.forward(act).sigmoid());  // [n_res, n_res, 2c]
    left = proj.narrow(-1, 0, c_);
    right = proj.narrow(-1, c_, c_);
  } else {
    left = mask.mul(left_projection_.forward(act)).mul(left_gate_.forward(act).sigmoid());
    right = mask.mul(right_projection_.forward(act)).mul(right_gate_.forward(act).sigmoid());
  }
  // Channel-batched matrix products: outgoing sum_k left[i,k] right[j,k]; incoming sum_k left[k,j] right[k,i].
  at::Tensor product;  // [c, n_res, n_res]
  if (outgoing_)
    product = at::matmul(left.permute({2, 0, 1}), right.permute({2, 1, 0}));
  else
    product = at::matmul(right.permute({2, 1, 0}), left.permute({2, 0, 1}));
  const auto centered = center_norm_.forward(product.permute({1, 2, 0}));  // [n_res, n_res, c]
  const auto out = output_projection_.forward(centered);                   // [n_res, n_res, c_z]
  return out.mul(gating_linear_.forward(act).sigmoid());                   // [n_res, n_res, c_z]
}

}  // namespace kfold::fold

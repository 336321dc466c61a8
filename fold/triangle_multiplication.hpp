// Triangle multiplicative update using outgoing or incoming edges (AlphaFold2 Suppl. Alg. 11, 12,
// modules.TriangleMultiplication).
#pragma once

#include <utility>

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/run_options.hpp"

namespace kfold::fold {

// Keys under its scope (c = num_intermediate_channel). DeepMind's monomer layout:
// "layer_norm_input" [c_z], "left_projection", "right_projection", "left_gate", "right_gate"
// [c_z, c], "center_layer_norm" [c], "output_projection" [c, c_z], "gating_linear" [c_z, c_z].
// With fuse_projection_weights (multimer v3): "left_norm_input" [c_z], "projection" and "gate"
// [c_z, 2c] (left half, right half), "center_norm" [c], "output_projection", "gating_linear".
class TriangleMultiplication {
 public:
  TriangleMultiplication(const ParameterScope& scope, const TriangleMultiplicationConfig& config, int64_t c_z);

  // pair [n_res, n_res, c_z], pair_mask [n_res, n_res] -> update [n_res, n_res, c_z]. With
  // options.chunk_size > 0 the intermediate channels are projected a quarter at a time and the output
  // is computed chunk_size rows at a time (less memory; the same products).
  at::Tensor forward(const at::Tensor& pair, const at::Tensor& pair_mask, const RunOptions& options) const;

 private:
  // The masked, gated left and right edges of intermediate channels [start, start + length), channels first:
  // act [n_res, n_res, c_z], mask [n_res, n_res] -> ([length, n_res, n_res], [length, n_res, n_res]).
  std::pair<at::Tensor, at::Tensor> projections(const at::Tensor& act, const at::Tensor& mask, int64_t start,
                                                int64_t length) const;

  bool outgoing_, fused_;
  int64_t c_;
  LayerNorm input_norm_, center_norm_;
  Linear left_projection_, right_projection_, left_gate_, right_gate_;  // unfused
  Linear projection_, gate_;                                            // fused
  Linear output_projection_, gating_linear_;
};

}  // namespace kfold::fold

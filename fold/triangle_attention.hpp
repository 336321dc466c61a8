// Triangle gated self-attention around the starting node (per_row, AlphaFold2 Suppl. Alg. 13) or
// the ending node (per_column, Alg. 14), modules.TriangleAttention.
#pragma once

#include "fold/attention.hpp"

namespace kfold::fold {

// Keys under its scope: "query_norm//{scale,offset}" [c_z], "//feat_2d_weights" [c_z, n_head],
// "attention//..." (Attention, c_z -> c_z).
class TriangleAttention {
 public:
  TriangleAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_z);

  // pair [n_res, n_res, c_z], pair_mask [n_res, n_res] -> update [n_res, n_res, c_z].
  at::Tensor forward(const at::Tensor& pair, const at::Tensor& pair_mask, const RunOptions& options) const;

 private:
  bool per_column_;
  LayerNorm query_norm_;
  at::Tensor feat_2d_weights_;  // [c_z, n_head]
  Attention attention_;
};

}  // namespace kfold::fold

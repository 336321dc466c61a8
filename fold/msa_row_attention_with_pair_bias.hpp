// MSA row-wise gated self-attention with pair bias (AlphaFold2 Suppl. Alg. 7,
// modules.MSARowAttentionWithPairBias).
#pragma once

#include "fold/attention.hpp"

namespace kfold::fold {

// Keys under its scope: "query_norm//{scale,offset}" [c_m], "feat_2d_norm//{scale,offset}" [c_z],
// "//feat_2d_weights" [c_z, n_head], "attention//..." (Attention, c_m -> c_m).
class MSARowAttentionWithPairBias {
 public:
  MSARowAttentionWithPairBias(const ParameterScope& scope, const AttentionConfig& config, int64_t c_m, int64_t c_z);

  // msa [n_seq, n_res, c_m], msa_mask [n_seq, n_res], pair [n_res, n_res, c_z] -> update [n_seq, n_res, c_m].
  at::Tensor forward(const at::Tensor& msa, const at::Tensor& msa_mask, const at::Tensor& pair,
                     const RunOptions& options) const;

 private:
  LayerNorm query_norm_, feat_2d_norm_;
  at::Tensor feat_2d_weights_;  // [c_z, n_head]
  Attention attention_;
};

}  // namespace kfold::fold

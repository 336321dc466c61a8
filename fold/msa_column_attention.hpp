// MSA column-wise gated self-attention (AlphaFold2 Suppl. Alg. 8, modules.MSAColumnAttention).
#pragma once

#include "fold/attention.hpp"

namespace kfold::fold {

// Keys under its scope: "query_norm//{scale,offset}" [c_m], "attention//..." (Attention, c_m -> c_m).
class MSAColumnAttention {
 public:
  MSAColumnAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_m);

  // msa [n_seq, n_res, c_m], msa_mask [n_seq, n_res] -> update [n_seq, n_res, c_m].
  at::Tensor forward(const at::Tensor& msa, const at::Tensor& msa_mask, const RunOptions& options) const;

 private:
  LayerNorm query_norm_;
  Attention attention_;
};

}  // namespace kfold::fold

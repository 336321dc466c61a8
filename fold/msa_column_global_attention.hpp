// MSA column-wise global attention, used by the extra-MSA stack (AlphaFold2 Suppl. Alg. 19,
// modules.MSAColumnGlobalAttention).
#pragma once

#include "fold/attention.hpp"

namespace kfold::fold {

// Keys under its scope: "query_norm//{scale,offset}" [c_e], "attention//..." (GlobalAttention).
class MSAColumnGlobalAttention {
 public:
  MSAColumnGlobalAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_e);

  // msa [n_seq, n_res, c_e], msa_mask [n_seq, n_res] -> update [n_seq, n_res, c_e].
  at::Tensor forward(const at::Tensor& msa, const at::Tensor& msa_mask, const RunOptions& options) const;

 private:
  LayerNorm query_norm_;
  GlobalAttention attention_;
};

}  // namespace kfold::fold

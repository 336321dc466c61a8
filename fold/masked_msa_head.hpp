// Masked MSA head: per-position amino-acid logits from the MSA representation (AlphaFold2
// Suppl. 1.9.9, modules.MaskedMsaHead, monomer: num_output 23).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"

namespace kfold::fold {

// Scope "alphafold/alphafold_iteration/masked_msa_head": "logits//{weights,bias}" [c_m, num_output].
class MaskedMsaHead {
 public:
  MaskedMsaHead(const ParameterScope& scope, const MaskedMsaHeadConfig& config, int64_t c_m);
  at::Tensor forward(const at::Tensor& msa) const;  // [n_seq, n_res, c_m] -> [n_seq, n_res, num_output]

 private:
  Linear logits_;
};

}  // namespace kfold::fold

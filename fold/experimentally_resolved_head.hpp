// Experimentally resolved head: per-atom (atom37) logits from the single representation
// (AlphaFold2 Suppl. 1.9.10, modules.ExperimentallyResolvedHead).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"

namespace kfold::fold {

// Scope "alphafold/alphafold_iteration/experimentally_resolved_head": "logits//{weights,bias}" [c_s, 37].
class ExperimentallyResolvedHead {
 public:
  ExperimentallyResolvedHead(const ParameterScope& scope, const ExperimentallyResolvedHeadConfig& config, int64_t c_s);
  at::Tensor forward(const at::Tensor& single) const;  // [n_res, c_s] -> [n_res, 37]

 private:
  Linear logits_;
};

}  // namespace kfold::fold

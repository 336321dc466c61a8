// Distogram head: symmetric logits over distance bins from the pair representation (AlphaFold2
// Suppl. 1.9.8, modules.DistogramHead).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"

namespace kfold::fold {

struct DistogramOutputs {
  at::Tensor logits;     // [n_res, n_res, num_bins]
  at::Tensor bin_edges;  // [num_bins - 1] (Angstrom)
};

// Scope "alphafold/alphafold_iteration/distogram_head": "half_logits//{weights,bias}" [c_z, num_bins].
class DistogramHead {
 public:
  DistogramHead(const ParameterScope& scope, const DistogramHeadConfig& config, int64_t c_z);
  DistogramOutputs forward(const at::Tensor& pair) const;  // pair [n_res, n_res, c_z]

 private:
  DistogramHeadConfig config_;
  Linear half_logits_;
};

}  // namespace kfold::fold

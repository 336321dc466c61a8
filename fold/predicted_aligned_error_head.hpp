// Predicted aligned error head: logits over aligned-error bins for every residue pair from the pair
// representation (AlphaFold2 Suppl. 1.9.7 "TM-score prediction", modules.PredictedAlignedErrorHead).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"

namespace kfold::fold {

struct PredictedAlignedErrorOutputs {
  at::Tensor logits;  // [n_res, n_res, num_bins]
  at::Tensor breaks;  // [num_bins - 1] bin edges, linspace(0, max_error_bin) (Angstrom)
};

// Scope "alphafold/alphafold_iteration/predicted_aligned_error_head": "logits//{weights,bias}" [c_z, num_bins].
class PredictedAlignedErrorHead {
 public:
  PredictedAlignedErrorHead(const ParameterScope& scope, const PredictedAlignedErrorHeadConfig& config, int64_t c_z);
  PredictedAlignedErrorOutputs forward(const at::Tensor& pair) const;  // pair [n_res, n_res, c_z]

 private:
  PredictedAlignedErrorHeadConfig config_;
  Linear logits_;
};

}  // namespace kfold::fold

// Predicted aligned error head (AlphaFold2 Suppl. 1.9.7).
#include "fold/predicted_aligned_error_head.hpp"

#include <ATen/ops/linspace.h>

namespace kfold::fold {

PredictedAlignedErrorHead::PredictedAlignedErrorHead(const ParameterScope& scope,
                                                     const PredictedAlignedErrorHeadConfig& config, int64_t c_z)
    : config_(config), logits_(scope / "logits", c_z, config.num_bins) {}

PredictedAlignedErrorOutputs PredictedAlignedErrorHead::forward(const at::Tensor& pair) const {
  PredictedAlignedErrorOutputs out;
  out.logits = logits_.forward(pair);  // [n_res, n_res, num_bins]
  out.breaks = at::linspace(0.0, config_.max_error_bin, config_.num_bins - 1, pair.options());  // [num_bins - 1]
  return out;
}

}  // namespace kfold::fold

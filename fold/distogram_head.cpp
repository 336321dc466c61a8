// Distogram head (AlphaFold2 Suppl. 1.9.8).
#include "fold/distogram_head.hpp"

#include <ATen/ops/linspace.h>

namespace kfold::fold {

DistogramHead::DistogramHead(const ParameterScope& scope, const DistogramHeadConfig& config, int64_t c_z)
    : config_(config), half_logits_(scope / "half_logits", c_z, config.num_bins) {}

DistogramOutputs DistogramHead::forward(const at::Tensor& pair) const {
  const auto half = half_logits_.forward(pair);  // [n_res, n_res, num_bins]
  DistogramOutputs out;
  out.logits = half.add(half.transpose(0, 1));  // [n_res, n_res, num_bins]
  out.bin_edges = at::linspace(config_.first_break, config_.last_break, config_.num_bins - 1,
                               pair.options());  // [num_bins - 1]
  return out;
}

}  // namespace kfold::fold

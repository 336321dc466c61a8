// Predicted LDDT head (AlphaFold2 Suppl. 1.9.6, Alg. 29).
#include "fold/predicted_lddt_head.hpp"

#include <ATen/ops/relu.h>

namespace kfold::fold {

PredictedLddtHead::PredictedLddtHead(const ParameterScope& scope, const PredictedLddtHeadConfig& config, int64_t c_s)
    : input_layer_norm_(scope / "input_layer_norm", c_s),
      act_0_(scope / "act_0", c_s, config.num_channels),
      act_1_(scope / "act_1", config.num_channels, config.num_channels),
      logits_(scope / "logits", config.num_channels, config.num_bins) {}

at::Tensor PredictedLddtHead::forward(const at::Tensor& structure_single) const {
  auto act = input_layer_norm_.forward(structure_single);  // [n_res, c_s]
  act = at::relu(act_0_.forward(act));                     // [n_res, num_channels]
  act = at::relu(act_1_.forward(act));                     // [n_res, num_channels]
  return logits_.forward(act);                             // [n_res, num_bins]
}

}  // namespace kfold::fold

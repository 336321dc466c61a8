// Transition: LayerNorm, Linear (x num_intermediate_factor), ReLU, Linear (AlphaFold2 Suppl. Alg. 9
// MSATransition and Alg. 15 PairTransition, modules.Transition).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/run_options.hpp"

namespace kfold::fold {

// Keys under its scope: "input_layer_norm//{scale,offset}" [c], "transition1//{weights,bias}"
// [c, n*c], "transition2//{weights,bias}" [n*c, c].
class Transition {
 public:
  Transition(const ParameterScope& scope, const TransitionConfig& config, int64_t c);

  // act [..., c] -> update [..., c]. The mask is not used at inference (as in AlphaFold).
  at::Tensor forward(const at::Tensor& act, const RunOptions& options) const;

 private:
  LayerNorm input_layer_norm_;
  Linear transition1_, transition2_;
};

}  // namespace kfold::fold

// Transition (AlphaFold2 Suppl. Alg. 9 MSATransition, Alg. 15 PairTransition).
#include "fold/transition.hpp"

#include <ATen/ops/cat.h>

namespace kfold::fold {

Transition::Transition(const ParameterScope& scope, const TransitionConfig& config, int64_t c)
    : input_layer_norm_(scope / "input_layer_norm", c),
      transition1_(scope / "transition1", c, c * config.num_intermediate_factor),
      transition2_(scope / "transition2", c * config.num_intermediate_factor, c) {}

at::Tensor Transition::forward(const at::Tensor& act, const RunOptions& options) const {
  auto run = [&](const at::Tensor& x) {
    const auto h = transition1_.forward(input_layer_norm_.forward(x), /*relu=*/true);  // [..., n*c]
    return transition2_.forward(h);                                                    // [..., c]
  };
  const int64_t n = act.size(0);
  if (options.chunk_size <= 0 || options.chunk_size >= n) return run(act);
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n; i += options.chunk_size)
    parts.push_back(run(act.narrow(0, i, std::min(options.chunk_size, n - i))));
  return at::cat(parts, 0);  // [..., c]
}

}  // namespace kfold::fold

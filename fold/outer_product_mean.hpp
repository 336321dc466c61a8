// Outer product mean: the MSA's update to the pair representation (AlphaFold2 Suppl. Alg. 10,
// modules.OuterProductMean).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/run_options.hpp"

namespace kfold::fold {

// Keys under its scope: "layer_norm_input//{scale,offset}" [c_m], "left_projection//{weights,bias}"
// and "right_projection//{weights,bias}" [c_m, c], "//output_w" [c, c, c_z], "//output_b" [c_z]
// (c = num_outer_channel).
class OuterProductMean {
 public:
  OuterProductMean(const ParameterScope& scope, const OuterProductMeanConfig& config, int64_t c_m, int64_t c_z);

  // msa [n_seq, n_res, c_m], msa_mask [n_seq, n_res] -> pair update [n_res, n_res, c_z].
  at::Tensor forward(const at::Tensor& msa, const at::Tensor& msa_mask, const RunOptions& options) const;

 private:
  LayerNorm layer_norm_input_;
  Linear left_projection_, right_projection_;
  at::Tensor output_w_;  // [c * c, c_z]
  at::Tensor output_b_;  // [c_z]
  int64_t c_;
};

}  // namespace kfold::fold

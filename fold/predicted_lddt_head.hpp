// Predicted LDDT head: per-residue logits over lDDT-Cα bins from the structure module's single
// representation (AlphaFold2 Suppl. 1.9.6, Alg. 29 "predictPerResidueLDDT_Ca", modules.PredictedLDDTHead).
#pragma once

#include "fold/common_modules.hpp"
#include "fold/config.hpp"

namespace kfold::fold {

// Scope "alphafold/alphafold_iteration/predicted_lddt_head": "input_layer_norm//{scale,offset}" [c_s],
// "act_0//{weights,bias}" [c_s, num_channels], "act_1//..." [num_channels, num_channels],
// "logits//..." [num_channels, num_bins].
class PredictedLddtHead {
 public:
  // c_s: channels of the structure module's single activations (its num_channel, 384 in AlphaFold2).
  PredictedLddtHead(const ParameterScope& scope, const PredictedLddtHeadConfig& config, int64_t c_s);
  // structure_single: the structure module's final single activations ("act") [n_res, c_s];
  // returns logits [n_res, num_bins] (compute_plddt turns them into pLDDT).
  at::Tensor forward(const at::Tensor& structure_single) const;

 private:
  LayerNorm input_layer_norm_;
  Linear act_0_;
  Linear act_1_;
  Linear logits_;
};

}  // namespace kfold::fold

// One Evoformer block (AlphaFold2 Suppl. Alg. 6 lines 2-10; extra-MSA stack block, Alg. 18).
#include "fold/evoformer_iteration.hpp"

#include <ATen/core/Tensor.h>

namespace kfold::fold {

EvoformerIteration::EvoformerIteration(const ParameterScope& scope, const EvoformerConfig& config, int64_t c_m,
                                       int64_t c_z, bool is_extra_msa)
    : outer_product_mean_first_(config.outer_product_mean.first),
      outer_product_mean_(scope / "outer_product_mean", config.outer_product_mean, c_m, c_z),
      msa_row_attention_(scope / "msa_row_attention_with_pair_bias", config.msa_row_attention_with_pair_bias, c_m, c_z),
      msa_transition_(scope / "msa_transition", config.msa_transition, c_m),
      triangle_multiplication_outgoing_(scope / "triangle_multiplication_outgoing",
                                        config.triangle_multiplication_outgoing, c_z),
      triangle_multiplication_incoming_(scope / "triangle_multiplication_incoming",
                                        config.triangle_multiplication_incoming, c_z),
      triangle_attention_starting_node_(scope / "triangle_attention_starting_node",
                                        config.triangle_attention_starting_node, c_z),
      triangle_attention_ending_node_(scope / "triangle_attention_ending_node", config.triangle_attention_ending_node,
                                      c_z),
      pair_transition_(scope / "pair_transition", config.pair_transition, c_z) {
  if (is_extra_msa)
    msa_column_global_attention_.emplace(scope / "msa_column_global_attention", config.msa_column_attention, c_m);
  else
    msa_column_attention_.emplace(scope / "msa_column_attention", config.msa_column_attention, c_m);
}

EvoformerActivations EvoformerIteration::forward(EvoformerActivations act, const at::Tensor& msa_mask,
                                                 const at::Tensor& pair_mask, const RunOptions& options) const {
  auto& [msa, pair] = act;  // [n_seq, n_res, c_m], [n_res, n_res, c_z]
  if (outer_product_mean_first_) pair = pair.add(outer_product_mean_.forward(msa, msa_mask, options));
  msa = msa.add(msa_row_attention_.forward(msa, msa_mask, pair, options));
  msa = msa.add((msa_column_attention_ ? msa_column_attention_->forward(msa, msa_mask, options)
                                       : msa_column_global_attention_->forward(msa, msa_mask, options)));
  msa = msa.add(msa_transition_.forward(msa, options));
  if (!outer_product_mean_first_) pair = pair.add(outer_product_mean_.forward(msa, msa_mask, options));
  pair = pair.add(triangle_multiplication_outgoing_.forward(pair, pair_mask, options));
  pair = pair.add(triangle_multiplication_incoming_.forward(pair, pair_mask, options));
  pair = pair.add(triangle_attention_starting_node_.forward(pair, pair_mask, options));
  pair = pair.add(triangle_attention_ending_node_.forward(pair, pair_mask, options));
  pair = pair.add(pair_transition_.forward(pair, options));
  return act;
}

}  // namespace kfold::fold

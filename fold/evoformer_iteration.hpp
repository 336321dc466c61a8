// One Evoformer block (AlphaFold2 Suppl. Alg. 6 lines 2-10, modules.EvoformerIteration); with
// is_extra_msa the extra-MSA stack's block (Alg. 18), whose column attention is global (Alg. 19).
#pragma once

#include <optional>

#include "fold/msa_column_attention.hpp"
#include "fold/msa_column_global_attention.hpp"
#include "fold/msa_row_attention_with_pair_bias.hpp"
#include "fold/outer_product_mean.hpp"
#include "fold/transition.hpp"
#include "fold/triangle_attention.hpp"
#include "fold/triangle_multiplication.hpp"

namespace kfold::fold {

// The MSA and pair representations a block reads and updates.
struct EvoformerActivations {
  at::Tensor msa;   // [n_seq, n_res, c_m]
  at::Tensor pair;  // [n_res, n_res, c_z]
};

// Scope: one layer of "evoformer/evoformer_iteration" or "evoformer/extra_msa_stack" (stacked
// parameters: pass scope.layer(i, n_block)). Sub-scopes carry AlphaFold's module names.
class EvoformerIteration {
 public:
  EvoformerIteration(const ParameterScope& scope, const EvoformerConfig& config, int64_t c_m, int64_t c_z,
                     bool is_extra_msa);

  // msa_mask [n_seq, n_res], pair_mask [n_res, n_res]; returns the updated representations.
  EvoformerActivations forward(EvoformerActivations act, const at::Tensor& msa_mask, const at::Tensor& pair_mask,
                               const RunOptions& options) const;

 private:
  bool outer_product_mean_first_;
  OuterProductMean outer_product_mean_;
  MSARowAttentionWithPairBias msa_row_attention_;
  std::optional<MSAColumnAttention> msa_column_attention_;               // main stack
  std::optional<MSAColumnGlobalAttention> msa_column_global_attention_;  // extra-MSA stack
  Transition msa_transition_;
  TriangleMultiplication triangle_multiplication_outgoing_, triangle_multiplication_incoming_;
  TriangleAttention triangle_attention_starting_node_, triangle_attention_ending_node_;
  Transition pair_transition_;
};

}  // namespace kfold::fold

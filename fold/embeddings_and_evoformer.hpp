// The trunk: input embedder (AlphaFold2 Suppl. Alg. 3), relative position encoding (Alg. 4, 5),
// recycling embedder (Alg. 32), extra-MSA stack (Alg. 18), Evoformer stack (Alg. 6) and the single
// representation projection: Suppl. Alg. 2 lines 5-18, modules.EmbeddingsAndEvoformer (monomer).
#pragma once

#include <vector>

#include "fold/evoformer_iteration.hpp"

namespace kfold::fold {

// AlphaFold's processed features for one recycling iteration (the model's batch without its
// leading recycling axis), plus the previous iteration's outputs.
struct EvoformerInputs {
  at::Tensor target_feat;           // [n_res, 22]
  at::Tensor msa_feat;              // [n_seq, n_res, 49]
  at::Tensor seq_mask;              // [n_res]
  at::Tensor msa_mask;              // [n_seq, n_res]
  at::Tensor aatype;                // [n_res] integer
  at::Tensor residue_index;         // [n_res] integer
  at::Tensor extra_msa;             // [n_extra, n_res] integer (0..22)
  at::Tensor extra_has_deletion;    // [n_extra, n_res]
  at::Tensor extra_deletion_value;  // [n_extra, n_res]
  at::Tensor extra_msa_mask;        // [n_extra, n_res]
  at::Tensor prev_pos;              // [n_res, 37, 3] (atom37 positions; zeros at the first iteration)
  at::Tensor prev_msa_first_row;    // [n_res, c_m]
  at::Tensor prev_pair;             // [n_res, n_res, c_z]
};

struct EvoformerOutputs {
  at::Tensor single;         // [n_res, c_s]
  at::Tensor pair;           // [n_res, n_res, c_z]
  at::Tensor msa;            // [n_seq, n_res, c_m]
  at::Tensor msa_first_row;  // [n_res, c_m]
};

// Scope: "alphafold/alphafold_iteration/evoformer". Templates are not embedded yet: a config with
// template.enabled throws (use a preset without templates, or set it false).
class EmbeddingsAndEvoformer {
 public:
  EmbeddingsAndEvoformer(const ParameterScope& scope, const EmbeddingsAndEvoformerConfig& config);

  EvoformerOutputs forward(const EvoformerInputs& batch, const RunOptions& options) const;

 private:
  at::Tensor relative_position_features(const at::Tensor& residue_index) const;  // [n_res, n_res, 2r+1]
  at::Tensor previous_position_features(const at::Tensor& aatype, const at::Tensor& prev_pos) const;

  EmbeddingsAndEvoformerConfig config_;
  Linear preprocess_1d_, preprocess_msa_, left_single_, right_single_;
  Linear prev_pos_linear_;
  LayerNorm prev_msa_first_row_norm_, prev_pair_norm_;
  Linear pair_activiations_;  // relative positions (AlphaFold's spelling)
  Linear extra_msa_activations_;
  std::vector<EvoformerIteration> extra_msa_stack_, evoformer_;
  Linear single_activations_;
};

}  // namespace kfold::fold

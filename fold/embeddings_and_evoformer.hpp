// The trunk: input embedder (AlphaFold2 Suppl. Alg. 3), relative position encoding (Alg. 4, 5),
// recycling embedder (Alg. 32), template embedding (Alg. 2 lines 7-13, fold/template_embedding.hpp),
// extra-MSA stack (Alg. 18), Evoformer stack (Alg. 6) and the single representation projection:
// Suppl. Alg. 2 lines 5-18, modules.EmbeddingsAndEvoformer (monomer).
#pragma once

#include <optional>
#include <vector>

#include "fold/evoformer_iteration.hpp"
#include "fold/template_embedding.hpp"

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
  at::Tensor asym_id;               // [n_res] integer chain ids of a complex; undefined: one chain
  at::Tensor extra_msa;             // [n_extra, n_res] integer (0..22)
  at::Tensor extra_has_deletion;    // [n_extra, n_res]
  at::Tensor extra_deletion_value;  // [n_extra, n_res]
  at::Tensor extra_msa_mask;        // [n_extra, n_res]
  at::Tensor prev_pos;              // [n_res, 37, 3] (atom37 positions; zeros at the first iteration)
  at::Tensor prev_msa_first_row;    // [n_res, c_m]
  at::Tensor prev_pair;             // [n_res, n_res, c_z]
  // AlphaFold's template features; read only with template.enabled (then the first four are required,
  // the pseudo-beta arrays are computed from the atoms when undefined). See TemplateBatch.
  at::Tensor template_aatype;              // [n_templ, n_res] integer (0..21)
  at::Tensor template_all_atom_positions;  // [n_templ, n_res, 37, 3] (float32 preferred: distances)
  at::Tensor template_all_atom_masks;      // [n_templ, n_res, 37]
  at::Tensor template_mask;                // [n_templ]
  at::Tensor template_pseudo_beta;         // [n_templ, n_res, 3]
  at::Tensor template_pseudo_beta_mask;    // [n_templ, n_res]
};

struct EvoformerOutputs {
  at::Tensor single;         // [n_res, c_s]
  at::Tensor pair;           // [n_res, n_res, c_z]
  at::Tensor msa;            // [n_seq, n_res, c_m] (the template rows cropped away, as AlphaFold)
  at::Tensor msa_first_row;  // [n_res, c_m]
};

// Scope: "alphafold/alphafold_iteration/evoformer". With template.enabled (model_1, model_2) the
// template embedding is added to the pair activations and, with embed_torsion_angles, one row per
// template is appended to the MSA for the Evoformer stack; forward() then needs the batch's template
// arrays (InputError naming the first one missing).
class EmbeddingsAndEvoformer {
 public:
  EmbeddingsAndEvoformer(const ParameterScope& scope, const EmbeddingsAndEvoformerConfig& config);

  EvoformerOutputs forward(const EvoformerInputs& batch, const RunOptions& options) const;

 private:
  at::Tensor relative_position_classes(const at::Tensor& residue_index,
                                       const at::Tensor& asym_id) const;  // [n_res, n_res] in 0 .. 2r
  TemplateBatch template_batch(const EvoformerInputs& batch) const;       // checked

  EmbeddingsAndEvoformerConfig config_;
  Linear preprocess_1d_, preprocess_msa_, left_single_, right_single_;
  Linear prev_pos_linear_;
  LayerNorm prev_msa_first_row_norm_, prev_pair_norm_;
  Linear pair_activiations_;  // relative positions (AlphaFold's spelling)
  std::optional<TemplateEmbedding> template_embedding_;
  std::optional<TemplateTorsionEmbedding> template_torsion_embedding_;
  Linear extra_msa_activations_;
  std::vector<EvoformerIteration> extra_msa_stack_, evoformer_;
  Linear single_activations_;
};

}  // namespace kfold::fold

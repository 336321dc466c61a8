// Template embedding of AlphaFold2's monomer trunk (Suppl. Alg. 2 lines 7-13): template pair features,
// the template pair stack (Alg. 16), template pointwise attention (Alg. 17) and the torsion-angle
// features of the template rows appended to the MSA (modules.TemplateEmbedding, SingleTemplateEmbedding,
// TemplatePairStack and the template part of EmbeddingsAndEvoformer).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "fold/attention.hpp"
#include "fold/transition.hpp"
#include "fold/triangle_attention.hpp"
#include "fold/triangle_multiplication.hpp"

namespace kfold::fold {

// AlphaFold's processed template features of one batch (the template_* arrays without their batch axis).
// Residue types are in AlphaFold's order, 0..20 plus 21 for a gap (an unaligned template residue, no atoms).
struct TemplateBatch {
  at::Tensor aatype;              // [n_templ, n_res] integer 0..21
  at::Tensor all_atom_positions;  // [n_templ, n_res, 37, 3] (zeros where the mask is 0)
  at::Tensor all_atom_masks;      // [n_templ, n_res, 37]
  at::Tensor template_mask;       // [n_templ] 1 for a template, 0 for padding
  at::Tensor pseudo_beta;         // [n_templ, n_res, 3]; undefined: computed from the atoms (pseudo_beta())
  at::Tensor pseudo_beta_mask;    // [n_templ, n_res]; likewise
};

// CB, or CA for glycine (modules.pseudo_beta_fn), and its atom mask. aatype [...], positions [..., 37, 3],
// masks [..., 37] (or undefined: no mask returned).
struct PseudoBeta {
  at::Tensor positions;  // [..., 3]
  at::Tensor mask;       // [...] (undefined without atom masks)
};
PseudoBeta pseudo_beta(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                       const at::Tensor& all_atom_masks = {});

// One-hot distogram of pairwise squared distances (modules.dgram_from_positions): bins with lower edges
// linspace(min_bin, max_bin, num_bins), the last one open. positions [..., n, 3] -> [..., n, n, num_bins].
at::Tensor dgram_from_positions(const at::Tensor& positions, const BinsConfig& bins);

// Alg. 16: num_block blocks of triangle attention (starting, ending node), triangle multiplication
// (outgoing, incoming) and a pair transition, each added to the template's pair activations. Scope:
// ".../single_template_embedding/template_pair_stack", stacked layers under "__layer_stack_no_state".
// Reuses the Evoformer's modules.
class TemplatePairStack {
 public:
  TemplatePairStack(const ParameterScope& scope, const TemplatePairStackConfig& config, int64_t c_t);

  // pair [n_res, n_res, c_t], pair_mask [n_res, n_res] -> [n_res, n_res, c_t].
  at::Tensor forward(at::Tensor pair, const at::Tensor& pair_mask, const RunOptions& options) const;

 private:
  struct Block {
    TriangleAttention triangle_attention_starting_node, triangle_attention_ending_node;
    TriangleMultiplication triangle_multiplication_outgoing, triangle_multiplication_incoming;
    Transition pair_transition;
  };
  std::vector<Block> blocks_;
};

// Alg. 2 lines 9 and 11 for one template: pair features (distogram of pseudo-beta positions, pseudo-beta
// pair mask, both residues' types one-hot, unit vectors between CAs in each residue's backbone frame,
// backbone pair mask; 49 + num_bins channels, masked by the backbone pair mask), "embedding2d" to c_t,
// the template pair stack and "output_layer_norm". Scope: ".../template_embedding/single_template_embedding".
class SingleTemplateEmbedding {
 public:
  SingleTemplateEmbedding(const ParameterScope& scope, const TemplateConfig& config);

  // One template: aatype [n_res], positions [n_res, 37, 3], masks [n_res, 37], pseudo_beta [n_res, 3],
  // pseudo_beta_mask [n_res]; mask_2d [n_res, n_res] (the query's padding) -> [n_res, n_res, c_t] in `dtype`.
  at::Tensor forward(const at::Tensor& aatype, const at::Tensor& all_atom_positions, const at::Tensor& all_atom_masks,
                     const at::Tensor& pseudo_beta, const at::Tensor& pseudo_beta_mask, const at::Tensor& mask_2d,
                     c10::ScalarType dtype, const RunOptions& options) const;

  // The 49 + num_bins pair features (before embedding2d), float32: [n_res, n_res, 49 + num_bins].
  at::Tensor pair_features(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                           const at::Tensor& all_atom_masks, const at::Tensor& pseudo_beta,
                           const at::Tensor& pseudo_beta_mask) const;

  int64_t c_t() const { return c_t_; }

 private:
  BinsConfig dgram_;
  bool use_unit_vector_;
  int64_t c_t_;
  Linear embedding2d_;
  TemplatePairStack template_pair_stack_;
  LayerNorm output_layer_norm_;
};

// Alg. 2 lines 9-13 with Alg. 17: every template embedded alone (shared weights), then attended from
// the query pair activations per residue pair over the templates (queries c_z, keys and values c_t,
// template_mask as key mask); zero when no template is present. Scope: "evoformer/template_embedding".
class TemplateEmbedding {
 public:
  // c_t = template_pair_stack.triangle_attention_ending_node.value_dim (as AlphaFold); c_z the query's.
  TemplateEmbedding(const ParameterScope& scope, const TemplateConfig& config, int64_t c_z);

  // query [n_res, n_res, c_z], mask_2d [n_res, n_res] -> update [n_res, n_res, c_z] for the pair
  // activations. Templates with template_mask 0 are skipped: their attention weight is exactly 0 in
  // AlphaFold too. options.chunk_size counts pair rows in the pointwise attention.
  at::Tensor forward(const at::Tensor& query, const TemplateBatch& templates, const at::Tensor& mask_2d,
                     const RunOptions& options) const;

 private:
  SingleTemplateEmbedding single_template_embedding_;
  Attention attention_;  // "attention": c_z queries, c_t keys/values, no gating in AlphaFold's config
};

// Alg. 2 lines 7-8: the template rows appended to the MSA. Per template residue: aatype one-hot (22),
// torsion angles sin/cos (14), alternative sin/cos (14), torsion masks (7) -> "template_single_embedding"
// (57 -> c_m), ReLU, "template_projection" (c_m -> c_m). Scope: "evoformer" (AlphaFold puts both
// linears there). Torsions as AlphaFold's inference (placeholder_for_undefined off: undefined angles keep
// their geometric values; see all_atom.hpp).
class TemplateTorsionEmbedding {
 public:
  TemplateTorsionEmbedding(const ParameterScope& scope, int64_t c_m);

  struct Rows {
    at::Tensor msa;   // [n_templ, n_res, c_m] in the requested dtype
    at::Tensor mask;  // [n_templ, n_res] the psi torsion mask (backbone atoms of the residue alone)
  };
  // aatype [n_templ, n_res], positions [n_templ, n_res, 37, 3], masks [n_templ, n_res, 37].
  Rows forward(const at::Tensor& aatype, const at::Tensor& all_atom_positions, const at::Tensor& all_atom_masks,
               c10::ScalarType dtype) const;

 private:
  Linear template_single_embedding_, template_projection_;
};

}  // namespace kfold::fold

// Template embedding (AlphaFold2 Suppl. Alg. 2 lines 7-13, Alg. 16 TemplatePairStack, Alg. 17
// TemplatePointwiseAttention).
#include "fold/template_embedding.hpp"

#include <ATen/ATen.h>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "fold/all_atom.hpp"

namespace kfold::fold {
namespace {

namespace rc = data::rc;

constexpr int64_t kTemplateAatypes = 22;  // 20 amino acids, unknown, gap

constexpr int64_t kN = rc::find_atom_type("N"), kCa = rc::find_atom_type("CA"), kC = rc::find_atom_type("C");

// v / |v| over the last axis; zero vectors (absent atoms) stay zero.
at::Tensor normalize(const at::Tensor& v) { return v / v.square().sum(-1, /*keepdim=*/true).add(1e-20).sqrt(); }

// The backbone frame of each residue as quat_affine.make_transform_from_reference builds it: CA at the
// origin, C on the +x axis, N in the xy plane (y > 0). Rows are the frame's axes in global coordinates,
// so rot @ (x - CA) is x in the residue's frame. n, ca, c [..., 3] -> [..., 3, 3].
at::Tensor backbone_rotation(const at::Tensor& n, const at::Tensor& ca, const at::Tensor& c) {
  const auto e0 = normalize(c - ca);                                 // [..., 3]
  const auto to_n = n - ca;                                          // [..., 3]
  const auto e1 = normalize(to_n - (to_n * e0).sum(-1, true) * e0);  // [..., 3]
  const auto e2 = at::cross(e0, e1, -1);                             // [..., 3]
  return at::stack({e0, e1, e2}, -2);                                // [..., 3, 3]
}

AttentionConfig pointwise_attention_config(const TemplateAttentionConfig& c) {
  AttentionConfig out;
  out.gating = c.gating;
  out.num_head = c.num_head;
  out.key_dim = c.key_dim;
  out.value_dim = c.value_dim;
  return out;
}

int64_t template_channels(const TemplateConfig& config, const ParameterScope& scope) {
  const auto& value_dim = config.template_pair_stack.triangle_attention_ending_node.value_dim;
  if (!value_dim || *value_dim <= 0)
    fail_input(
        "{}: template.template_pair_stack.triangle_attention_ending_node.value_dim must be set (it is the "
        "template pair channels, 64 in AlphaFold)",
        scope.prefix());
  return *value_dim;
}

}  // namespace

PseudoBeta pseudo_beta(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                       const at::Tensor& all_atom_masks) {
  static const int64_t cb = rc::find_atom_type("CB"), gly = rc::find_restype_with_x('G');
  const auto is_gly = aatype.to(at::kLong).eq(gly);  // [...]
  PseudoBeta out;
  out.positions = at::where(is_gly.unsqueeze(-1), all_atom_positions.select(-2, kCa),
                            all_atom_positions.select(-2, cb));  // [..., 3]
  if (all_atom_masks.defined())
    out.mask = at::where(is_gly, all_atom_masks.select(-1, kCa), all_atom_masks.select(-1, cb));  // [...]
  return out;
}

at::Tensor dgram_from_positions(const at::Tensor& positions, const BinsConfig& bins) {
  const auto lower = at::linspace(bins.min_bin, bins.max_bin, bins.num_bins, positions.options()).square();  // [n_bins]
  const auto upper = at::cat({lower.slice(0, 1), at::full({1}, 1e8, lower.options())});                      // [n_bins]
  const auto dist2 = positions.unsqueeze(-2).sub(positions.unsqueeze(-3)).square().sum(-1, true);  // [..., n, n, 1]
  return dist2.gt(lower).logical_and(dist2.lt(upper)).to(positions.scalar_type());  // [..., n, n, n_bins]
}

// ---------------------------------------------------------------------------------------------------
// TemplatePairStack (Alg. 16)

TemplatePairStack::TemplatePairStack(const ParameterScope& scope, const TemplatePairStackConfig& c, int64_t c_t) {
  const auto stack = scope / "__layer_stack_no_state";
  for (int64_t i = 0; i < c.num_block; ++i) {
    const auto layer = stack.layer(i, c.num_block);
    blocks_.push_back(Block{
        TriangleAttention(layer / "triangle_attention_starting_node", c.triangle_attention_starting_node, c_t),
        TriangleAttention(layer / "triangle_attention_ending_node", c.triangle_attention_ending_node, c_t),
        TriangleMultiplication(layer / "triangle_multiplication_outgoing", c.triangle_multiplication_outgoing, c_t),
        TriangleMultiplication(layer / "triangle_multiplication_incoming", c.triangle_multiplication_incoming, c_t),
        Transition(layer / "pair_transition", c.pair_transition, c_t)});
  }
}

at::Tensor TemplatePairStack::forward(at::Tensor pair, const at::Tensor& pair_mask, const RunOptions& options) const {
  for (const Block& b : blocks_) {  // pair [n_res, n_res, c_t] throughout
    pair = pair.add(b.triangle_attention_starting_node.forward(pair, pair_mask, options));
    pair = pair.add(b.triangle_attention_ending_node.forward(pair, pair_mask, options));
    pair = pair.add(b.triangle_multiplication_outgoing.forward(pair, pair_mask, options));
    pair = pair.add(b.triangle_multiplication_incoming.forward(pair, pair_mask, options));
    pair = pair.add(b.pair_transition.forward(pair, options));
  }
  return pair;
}

// ---------------------------------------------------------------------------------------------------
// SingleTemplateEmbedding (Alg. 2 lines 9 and 11)

SingleTemplateEmbedding::SingleTemplateEmbedding(const ParameterScope& scope, const TemplateConfig& c)
    : dgram_(c.dgram_features),
      use_unit_vector_(c.use_template_unit_vector),
      c_t_(template_channels(c, scope)),
      embedding2d_(scope / "embedding2d", c.dgram_features.num_bins + 1 + 2 * kTemplateAatypes + 3 + 1, c_t_),
      template_pair_stack_(scope / "template_pair_stack", c.template_pair_stack, c_t_),
      output_layer_norm_(scope / "output_layer_norm", c_t_) {}

at::Tensor SingleTemplateEmbedding::pair_features(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                                                  const at::Tensor& all_atom_masks, const at::Tensor& pseudo_beta,
                                                  const at::Tensor& pseudo_beta_mask) const {
  // Geometry in float32 whatever the activations' dtype (distances to ~50 A need its precision).
  const auto pos = all_atom_positions.to(at::kFloat);  // [n_res, 37, 3]
  const auto masks = all_atom_masks.to(at::kFloat);    // [n_res, 37]
  const int64_t n_res = pos.size(0);

  const auto beta_mask = pseudo_beta_mask.to(at::kFloat);                              // [n_res]
  const auto beta_mask_2d = beta_mask.unsqueeze(1).mul(beta_mask.unsqueeze(0));        // [n_res, n_res]
  const auto dgram = dgram_from_positions(pseudo_beta.to(at::kFloat), dgram_);         // [n_res, n_res, n_bins]
  const auto aa = at::one_hot(aatype.to(at::kLong), kTemplateAatypes).to(at::kFloat);  // [n_res, 22]

  // Unit vectors from each residue's CA to every other CA, in the first residue's backbone frame,
  // where both residues have N, CA and C.
  const auto ca = pos.select(-2, kCa);                                                         // [n_res, 3]
  const auto rot = backbone_rotation(pos.select(-2, kN), ca, pos.select(-2, kC));              // [n_res, 3, 3]
  const auto local = at::einsum("iab,ijb->ija", {rot, ca.unsqueeze(0).sub(ca.unsqueeze(1))});  // [n_res, n_res, 3]
  const auto backbone = masks.select(-1, kN) * masks.select(-1, kCa) * masks.select(-1, kC);   // [n_res]
  const auto backbone_2d = backbone.unsqueeze(1).mul(backbone.unsqueeze(0));                   // [n_res, n_res]
  const auto inv_distance = at::rsqrt(local.square().sum(-1).add(1e-6)).mul(backbone_2d);      // [n_res, n_res]
  auto unit_vector = local.mul(inv_distance.unsqueeze(-1));                                    // [n_res, n_res, 3]
  if (!use_unit_vector_) unit_vector = at::zeros_like(unit_vector);

  const auto features = at::cat({dgram, beta_mask_2d.unsqueeze(-1), aa.unsqueeze(0).expand({n_res, n_res, -1}),
                                 aa.unsqueeze(1).expand({n_res, n_res, -1}), unit_vector, backbone_2d.unsqueeze(-1)},
                                -1);               // [n_res, n_res, n_bins + 49]
  return features.mul(backbone_2d.unsqueeze(-1));  // masked where a residue has no backbone frame
}

at::Tensor SingleTemplateEmbedding::forward(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                                            const at::Tensor& all_atom_masks, const at::Tensor& pseudo_beta,
                                            const at::Tensor& pseudo_beta_mask, const at::Tensor& mask_2d,
                                            c10::ScalarType dtype, const RunOptions& options) const {
  const auto features = pair_features(aatype, all_atom_positions, all_atom_masks, pseudo_beta, pseudo_beta_mask);
  auto act = embedding2d_.forward(features.to(dtype));                   // [n_res, n_res, c_t]
  act = template_pair_stack_.forward(std::move(act), mask_2d, options);  // [n_res, n_res, c_t]
  return output_layer_norm_.forward(act);                                // [n_res, n_res, c_t]
}

// ---------------------------------------------------------------------------------------------------
// TemplateEmbedding (Alg. 2 lines 9-13, Alg. 17)

TemplateEmbedding::TemplateEmbedding(const ParameterScope& scope, const TemplateConfig& c, int64_t c_z)
    : single_template_embedding_(scope / "single_template_embedding", c),
      attention_(scope / "attention", pointwise_attention_config(c.attention), c_z, single_template_embedding_.c_t(),
                 c_z) {}

at::Tensor TemplateEmbedding::forward(const at::Tensor& query, const TemplateBatch& t, const at::Tensor& mask_2d,
                                      const RunOptions& options) const {
  const int64_t n_res = query.size(0), c_z = query.size(2), n_templ = t.aatype.size(0);
  auto beta = t.pseudo_beta, beta_mask = t.pseudo_beta_mask;
  if (!beta.defined() || !beta_mask.defined()) {
    const auto computed = pseudo_beta(t.aatype, t.all_atom_positions, t.all_atom_masks);
    beta = computed.positions;  // [n_templ, n_res, 3]
    beta_mask = computed.mask;  // [n_templ, n_res]
  }

  // Templates with mask 0 (padding) get attention weight exp(-1e9) = 0 in AlphaFold: skip them.
  const auto host_mask = t.template_mask.to(at::kCPU, at::kFloat).contiguous();
  std::vector<int64_t> present;
  for (int64_t i = 0; i < n_templ; ++i)
    if (host_mask.data_ptr<float>()[i] != 0.0F) present.push_back(i);
  if (present.empty()) return at::zeros_like(query);  // AlphaFold: embedding * (sum(template_mask) > 0)

  std::vector<at::Tensor> embedded;
  for (const int64_t i : present)
    embedded.push_back(single_template_embedding_.forward(t.aatype[i], t.all_atom_positions[i], t.all_atom_masks[i],
                                                          beta[i], beta_mask[i], mask_2d, query.scalar_type(),
                                                          options));  // [n_res, n_res, c_t]
  const auto n_present = static_cast<int64_t>(present.size());
  const auto templates = at::stack(embedded, 2).reshape({n_res * n_res, n_present, -1});  // [n_res^2, n_t, c_t]

  // Pointwise attention: one query per residue pair over the templates.
  const auto index = at::tensor(present, at::TensorOptions().dtype(at::kLong)).to(query.device());
  const auto key_mask = t.template_mask.index_select(0, index)
                            .to(query.scalar_type())
                            .unsqueeze(0)
                            .expand({n_res * n_res, n_present});  // [n_res^2, n_t]
  RunOptions pair_rows = options;  // chunk_size counts pair rows: n_res flattened queries each
  if (options.chunk_size > 0) pair_rows.chunk_size = options.chunk_size * n_res;
  const auto out = attention_.forward(query.reshape({n_res * n_res, 1, c_z}), templates, key_mask, at::Tensor(),
                                      pair_rows);  // [n_res^2, 1, c_z]
  return out.reshape({n_res, n_res, c_z});
}

// ---------------------------------------------------------------------------------------------------
// TemplateTorsionEmbedding (Alg. 2 lines 7-8)

TemplateTorsionEmbedding::TemplateTorsionEmbedding(const ParameterScope& scope, int64_t c_m)
    : template_single_embedding_(scope / "template_single_embedding", kTemplateAatypes + 14 + 14 + 7, c_m),
      template_projection_(scope / "template_projection", c_m, c_m) {}

TemplateTorsionEmbedding::Rows TemplateTorsionEmbedding::forward(const at::Tensor& aatype,
                                                                 const at::Tensor& all_atom_positions,
                                                                 const at::Tensor& all_atom_masks,
                                                                 c10::ScalarType dtype) const {
  const auto aa = aatype.to(at::kLong);  // [n_templ, n_res] (21, gap, counts as unknown for the torsions)
  const int64_t n_templ = aa.size(0), n_res = aa.size(1);
  const TorsionAngles torsions =
      atom37_to_torsion_angles(aa, all_atom_positions.to(at::kFloat), all_atom_masks.to(at::kFloat));
  const auto features =
      at::cat({at::one_hot(aa, kTemplateAatypes).to(at::kFloat), torsions.sin_cos.reshape({n_templ, n_res, 14}),
               torsions.alt_sin_cos.reshape({n_templ, n_res, 14}), torsions.mask},
              -1);  // [n_templ, n_res, 57]
  Rows rows;
  rows.msa = template_projection_.forward(template_single_embedding_.forward(features.to(dtype)).relu());
  rows.mask = torsions.mask.select(-1, 2).to(dtype);  // psi: [n_templ, n_res]
  return rows;
}

}  // namespace kfold::fold

// The trunk (AlphaFold2 Suppl. Alg. 2 lines 5-18): embeddings, recycling, extra-MSA stack, Evoformer.
#include "fold/embeddings_and_evoformer.hpp"

#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/where.h>

#include "data/error.hpp"
#include "data/residue_constants.hpp"

namespace kfold::fold {
namespace {

constexpr int64_t kTargetFeat = 22, kMsaFeat = 49, kExtraMsaFeat = 25;  // 23 one-hot + has_deletion + value

}  // namespace

EmbeddingsAndEvoformer::EmbeddingsAndEvoformer(const ParameterScope& scope, const EmbeddingsAndEvoformerConfig& c)
    : config_(c),
      preprocess_1d_(scope / "preprocess_1d", kTargetFeat, c.msa_channel),
      preprocess_msa_(scope / "preprocess_msa", kMsaFeat, c.msa_channel),
      left_single_(scope / "left_single", kTargetFeat, c.pair_channel),
      right_single_(scope / "right_single", kTargetFeat, c.pair_channel),
      extra_msa_activations_(scope / "extra_msa_activations", kExtraMsaFeat, c.extra_msa_channel),
      single_activations_(scope / "single_activations", c.msa_channel, c.seq_channel) {
  if (c.template_.enabled)
    fail_input(
        "{}: template embedding is not implemented yet; set model.embeddings_and_evoformer.template.enabled "
        "to false (or use model_3..model_5)",
        scope.prefix());
  if (c.recycle_pos) prev_pos_linear_ = Linear(scope / "prev_pos_linear", c.prev_pos.num_bins, c.pair_channel);
  if (c.recycle_features) {
    prev_msa_first_row_norm_ = LayerNorm(scope / "prev_msa_first_row_norm", c.msa_channel);
    prev_pair_norm_ = LayerNorm(scope / "prev_pair_norm", c.pair_channel);
  }
  if (c.max_relative_feature > 0)
    pair_activiations_ = Linear(scope / "pair_activiations", 2 * c.max_relative_feature + 1, c.pair_channel);
  for (int64_t i = 0; i < c.extra_msa_stack_num_block; ++i)
    extra_msa_stack_.emplace_back((scope / "extra_msa_stack").layer(i, c.extra_msa_stack_num_block), c.evoformer,
                                  c.extra_msa_channel, c.pair_channel, true);
  for (int64_t i = 0; i < c.evoformer_num_block; ++i)
    evoformer_.emplace_back((scope / "evoformer_iteration").layer(i, c.evoformer_num_block), c.evoformer, c.msa_channel,
                            c.pair_channel, false);
}

// Suppl. Alg. 4 relpos + Alg. 5 one_hot: clipped residue index offsets, one-hot.
at::Tensor EmbeddingsAndEvoformer::relative_position_features(const at::Tensor& residue_index) const {
  const int64_t r = config_.max_relative_feature;
  const auto pos = residue_index.to(at::kLong);                                       // [n_res]
  const auto offset = pos.unsqueeze(1).sub(pos.unsqueeze(0)).add(r).clamp(0, 2 * r);  // [n_res, n_res]
  return at::one_hot(offset, 2 * r + 1).to(at::kFloat);                               // [n_res, n_res, 2r+1]
}

// Suppl. Alg. 32 lines 1-2: distogram of the previous pseudo-beta positions (CA for glycine).
at::Tensor EmbeddingsAndEvoformer::previous_position_features(const at::Tensor& aatype,
                                                              const at::Tensor& prev_pos) const {
  namespace rc = data::rc;
  static const int64_t ca = rc::find_atom_type("CA"), cb = rc::find_atom_type("CB");
  static const int64_t gly = rc::find_restype_with_x('G');
  const auto is_gly = aatype.to(at::kLong).eq(gly).unsqueeze(-1);                       // [n_res, 1]
  const auto beta = at::where(is_gly, prev_pos.select(1, ca), prev_pos.select(1, cb));  // [n_res, 3]
  const auto& bins = config_.prev_pos;
  const auto lower = at::linspace(bins.min_bin, bins.max_bin, bins.num_bins, prev_pos.options()).square();  // [n_bins]
  const auto upper = at::cat({lower.slice(0, 1), at::full({1}, 1e8, lower.options())});                     // [n_bins]
  const auto dist2 = beta.unsqueeze(1).sub(beta.unsqueeze(0)).square().sum(-1, true);  // [n_res, n_res, 1]
  return dist2.gt(lower).logical_and(dist2.lt(upper)).to(prev_pos.scalar_type());      // [n_res, n_res, n_bins]
}

EvoformerOutputs EmbeddingsAndEvoformer::forward(const EvoformerInputs& batch, const RunOptions& options) const {
  const auto& c = config_;
  // Input embedder (Alg. 3).
  const auto target_feat = batch.target_feat;  // [n_res, 22]
  auto msa = preprocess_1d_.forward(target_feat).unsqueeze(0).add(preprocess_msa_.forward(batch.msa_feat));
  auto pair = left_single_.forward(target_feat).unsqueeze(1).add(right_single_.forward(target_feat).unsqueeze(0));
  const auto mask_2d = batch.seq_mask.unsqueeze(1).mul(batch.seq_mask.unsqueeze(0));  // [n_res, n_res]
  // msa [n_seq, n_res, c_m], pair [n_res, n_res, c_z]

  // Recycling embedder (Alg. 32).
  if (c.recycle_pos)
    pair = pair.add(prev_pos_linear_.forward(previous_position_features(batch.aatype, batch.prev_pos)));
  if (c.recycle_features) {
    const auto first_row = msa[0].add(prev_msa_first_row_norm_.forward(batch.prev_msa_first_row));  // [n_res, c_m]
    msa = at::cat({first_row.unsqueeze(0), msa.slice(0, 1)}, 0);  // [n_seq, n_res, c_m]
    pair = pair.add(prev_pair_norm_.forward(batch.prev_pair));    // [n_res, n_res, c_z]
  }
  // Relative position encoding (Alg. 4).
  if (c.max_relative_feature > 0)
    pair = pair.add(pair_activiations_.forward(relative_position_features(batch.residue_index)));

  // Extra-MSA stack (Alg. 18).
  const auto extra_feat = at::cat({at::one_hot(batch.extra_msa.to(at::kLong), 23).to(msa.scalar_type()),
                                   batch.extra_has_deletion.unsqueeze(-1), batch.extra_deletion_value.unsqueeze(-1)},
                                  -1);                                           // [n_extra, n_res, 25]
  EvoformerActivations extra{extra_msa_activations_.forward(extra_feat), pair};  // [n_extra, n_res, c_e]
  for (const auto& block : extra_msa_stack_)
    extra = block.forward(std::move(extra), batch.extra_msa_mask, mask_2d, options);

  // Evoformer stack (Alg. 6).
  EvoformerActivations act{msa, extra.pair};
  for (const auto& block : evoformer_) act = block.forward(std::move(act), batch.msa_mask, mask_2d, options);

  EvoformerOutputs out;
  out.msa = act.msa;                                            // [n_seq, n_res, c_m]
  out.pair = act.pair;                                          // [n_res, n_res, c_z]
  out.msa_first_row = act.msa[0];                               // [n_res, c_m]
  out.single = single_activations_.forward(out.msa_first_row);  // [n_res, c_s]
  return out;
}

}  // namespace kfold::fold

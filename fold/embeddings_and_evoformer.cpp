// The trunk (AlphaFold2 Suppl. Alg. 2 lines 5-18): embeddings, recycling, templates, extra-MSA stack,
// Evoformer.
#include "fold/embeddings_and_evoformer.hpp"

#include <ATen/ops/cat.h>
#include <ATen/ops/one_hot.h>

#include <chrono>
#include <utility>

#include "data/dtype.hpp"
#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"

namespace kfold::fold {

namespace {

// Safe points between the blocks of the extra-MSA and Evoformer stacks (the CLI's Ctrl-C and SIGTERM, the
// Python module's cancel token: a long iteration stops within a block, and a scheduler's SIGTERM is acted on
// before its SIGKILL), with a progress line when an iteration runs long (at most one a minute: L = 1000 on a
// CPU was silent for minutes).
class BlockSafePoints {
 public:
  explicit BlockSafePoints(int64_t blocks) : blocks_(blocks) {}
  void after_block() {
    ++done_;
    if (const auto now = Clock::now(); now - last_line_ >= std::chrono::seconds(60)) {
      log_info("  trunk block {}/{} of this iteration ({:.0f} s)", done_, blocks_,
               std::chrono::duration<double>(now - start_).count());
      last_line_ = now;
    }
    check_interrupt();
  }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t blocks_;
  int64_t done_ = 0;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_line_ = start_;
};

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
  if (c.template_.enabled) {
    template_embedding_.emplace(scope / "template_embedding", c.template_, c.pair_channel);
    if (c.template_.embed_torsion_angles) template_torsion_embedding_.emplace(scope, c.msa_channel);
  }
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

// Suppl. Alg. 4 relpos: clipped residue index offsets, the classes of Alg. 5's one-hot. The linear layer
// gathers its weight rows by them (Linear::forward_one_hot): the one-hot itself, [n_res, n_res, 2r+1] in int64
// and float, was 0.8 GB at L = 1000 with AlphaFold's r = 32, and 97 GB at L = 76 with r = 2^20.
// A complex's chains (asym_id defined) get the extreme classes for pairs of different chains, by the
// sign of their chain ids' difference: alphafold-colabfold's rule, the same classes a residue_index jump
// of more than r gives (ColabFold's 200 between chains), and the only separation for hand-made features
// whose residue_index runs on across chains.
at::Tensor EmbeddingsAndEvoformer::relative_position_classes(const at::Tensor& residue_index,
                                                             const at::Tensor& asym_id) const {
  const int64_t r = config_.max_relative_feature;
  const auto pos = residue_index.to(at::kLong);                                  // [n_res]
  auto classes = pos.unsqueeze(1).sub(pos.unsqueeze(0)).add(r).clamp(0, 2 * r);  // [n_res, n_res] in 0 .. 2r
  if (!asym_id.defined()) return classes;
  const auto chain = asym_id.to(at::kLong);                          // [n_res]
  const auto row = chain.unsqueeze(1), column = chain.unsqueeze(0);  // [n_res, 1], [1, n_res]
  // Boolean [n_res, n_res] masks only (no further int64 copies of the matrix: 72 MB each at L = 3000).
  return classes.masked_fill_(row.gt(column), 2 * r).masked_fill_(row.lt(column), 0);
}

// The batch's template arrays, checked against each other and the residue count.
TemplateBatch EmbeddingsAndEvoformer::template_batch(const EvoformerInputs& b) const {
  const std::pair<const char*, const at::Tensor*> required[] = {
      {"template_aatype", &b.template_aatype},
      {"template_all_atom_positions", &b.template_all_atom_positions},
      {"template_all_atom_masks", &b.template_all_atom_masks},
      {"template_mask", &b.template_mask}};
  for (const auto& [name, tensor] : required)
    if (!tensor->defined())
      fail_input(
          "model.embeddings_and_evoformer.template.enabled is true but the batch has no '{}' (AlphaFold's "
          "processed features with templates hold it, as do kfold's with --template-db: add templates, set "
          "template.enabled to false or use model_3..model_5)",
          name);
  const int64_t n_res = b.target_feat.size(0), n_templ = b.template_aatype.size(0);
  const auto check = [&](const char* name, const at::Tensor& t, std::vector<int64_t> shape) {
    if (t.defined() && t.sizes() != at::IntArrayRef(shape))
      fail_input("batch '{}' has shape {}, expected {} (n_templ {}, n_res {})", name,
                 data::shape_string(t.sizes().vec()), data::shape_string(shape), n_templ, n_res);
  };
  check("template_aatype", b.template_aatype, {n_templ, n_res});
  check("template_all_atom_positions", b.template_all_atom_positions, {n_templ, n_res, 37, 3});
  check("template_all_atom_masks", b.template_all_atom_masks, {n_templ, n_res, 37});
  check("template_mask", b.template_mask, {n_templ});
  check("template_pseudo_beta", b.template_pseudo_beta, {n_templ, n_res, 3});
  check("template_pseudo_beta_mask", b.template_pseudo_beta_mask, {n_templ, n_res});
  return {b.template_aatype, b.template_all_atom_positions, b.template_all_atom_masks,
          b.template_mask,   b.template_pseudo_beta,        b.template_pseudo_beta_mask};
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
  if (c.recycle_pos) {  // Alg. 32 lines 1-2: distogram of the previous pseudo-beta positions (CA for glycine)
    const auto prev_beta = pseudo_beta(batch.aatype, batch.prev_pos).positions;  // [n_res, 3]
    pair = pair.add(prev_pos_linear_.forward(dgram_from_positions(prev_beta, c.prev_pos).to(pair.scalar_type())));
  }
  if (c.recycle_features) {
    const auto first_row =
        msa[0].add(prev_msa_first_row_norm_.forward(batch.prev_msa_first_row.to(msa.scalar_type())));  // [n_res, c_m]
    msa = at::cat({first_row.unsqueeze(0), msa.slice(0, 1)}, 0);                       // [n_seq, n_res, c_m]
    pair = pair.add(prev_pair_norm_.forward(batch.prev_pair.to(pair.scalar_type())));  // [n_res, n_res, c_z]
  }
  // Relative position encoding (Alg. 4).
  if (c.max_relative_feature > 0)
    pair = pair.add(pair_activiations_.forward_one_hot(relative_position_classes(batch.residue_index, batch.asym_id),
                                                       pair.scalar_type()));
  // Template embedding (Alg. 2 lines 9-13).
  std::optional<TemplateBatch> templates;
  if (template_embedding_) {
    templates = template_batch(batch);
    pair = pair.add(template_embedding_->forward(pair, *templates, mask_2d, options));  // [n_res, n_res, c_z]
  }

  // Extra-MSA stack (Alg. 18).
  const auto extra_feat = at::cat({at::one_hot(batch.extra_msa.to(at::kLong), 23).to(msa.scalar_type()),
                                   batch.extra_has_deletion.unsqueeze(-1), batch.extra_deletion_value.unsqueeze(-1)},
                                  -1);                                           // [n_extra, n_res, 25]
  EvoformerActivations extra{extra_msa_activations_.forward(extra_feat), pair};  // [n_extra, n_res, c_e]
  BlockSafePoints safe_points(static_cast<int64_t>(extra_msa_stack_.size() + evoformer_.size()));
  for (const auto& block : extra_msa_stack_) {
    extra = block.forward(std::move(extra), batch.extra_msa_mask, mask_2d, options);
    safe_points.after_block();
  }

  // Template rows appended to the MSA (Alg. 2 lines 7-8), masked by their psi torsion mask.
  const int64_t n_seq = msa.size(0);
  auto msa_mask = batch.msa_mask;  // [n_seq (+ n_templ), n_res]
  if (template_torsion_embedding_) {
    const auto rows = template_torsion_embedding_->forward(templates->aatype, templates->all_atom_positions,
                                                           templates->all_atom_masks, msa.scalar_type());
    msa = at::cat({msa, rows.msa}, 0);                                        // [n_seq + n_templ, n_res, c_m]
    msa_mask = at::cat({msa_mask, rows.mask.to(msa_mask.scalar_type())}, 0);  // [n_seq + n_templ, n_res]
  }

  // Evoformer stack (Alg. 6).
  EvoformerActivations act{msa, extra.pair};
  for (const auto& block : evoformer_) {
    act = block.forward(std::move(act), msa_mask, mask_2d, options);
    safe_points.after_block();
  }

  EvoformerOutputs out;
  out.msa = act.msa.narrow(0, 0, n_seq);                        // [n_seq, n_res, c_m] without the template rows
  out.pair = act.pair;                                          // [n_res, n_res, c_z]
  out.msa_first_row = act.msa[0];                               // [n_res, c_m]
  out.single = single_activations_.forward(out.msa_first_row);  // [n_res, c_s]
  return out;
}

}  // namespace kfold::fold

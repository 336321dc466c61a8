// AlphaFold2's monomer model with recycling (fold/alphafold_model.hpp).
#include "fold/alphafold_model.hpp"

#include <ATen/ATen.h>

#include "data/error.hpp"
#include "data/log.hpp"
#include "fold/confidence.hpp"

namespace kfold::fold {

namespace {
const std::string kIteration = "alphafold/alphafold_iteration";
}  // namespace

AlphaFoldModel::AlphaFoldModel(const ParameterScope& root, const ModelConfig& config)
    : config_(config),
      evoformer_(root / kIteration / "evoformer", config.model.embeddings_and_evoformer),
      structure_module_(root / kIteration / "structure_module", config.model.heads.structure_module,
                        config.model.embeddings_and_evoformer.seq_channel,
                        config.model.embeddings_and_evoformer.pair_channel) {
  const auto& e = config.model.embeddings_and_evoformer;
  const auto& heads = config.model.heads;
  const auto scope = root / kIteration;
  if (heads.distogram.weight != 0) distogram_.emplace(scope / "distogram_head", heads.distogram, e.pair_channel);
  if (heads.masked_msa.weight != 0) masked_msa_.emplace(scope / "masked_msa_head", heads.masked_msa, e.msa_channel);
  if (heads.experimentally_resolved.weight != 0)
    experimentally_resolved_.emplace(scope / "experimentally_resolved_head", heads.experimentally_resolved,
                                     e.seq_channel);
  if (heads.predicted_lddt.weight != 0)
    predicted_lddt_.emplace(scope / "predicted_lddt_head", heads.predicted_lddt, heads.structure_module.num_channel);
  if (heads.predicted_aligned_error.weight != 0)
    predicted_aligned_error_.emplace(scope / "predicted_aligned_error_head", heads.predicted_aligned_error,
                                     e.pair_channel);
}

ModelOutputs AlphaFoldModel::iteration(const ProcessedFeatures& features, int64_t first_batch, const Recycled& previous,
                                       const RunOptions& options) const {
  const auto float_options = at::TensorOptions().device(options.device).dtype(options.dtype);
  const auto as_float = [&](const at::Tensor& t, int64_t b) { return t.defined() ? t[b].to(float_options) : t; };
  const auto as_index = [&](const at::Tensor& t, int64_t b) {
    return t.defined() ? t[b].to(at::TensorOptions().device(options.device).dtype(at::kLong)) : t;
  };
  const auto inputs = [&](int64_t b) {
    EvoformerInputs in;
    in.target_feat = as_float(features.target_feat, b);                // [n_res, 22]
    in.msa_feat = as_float(features.msa_feat, b);                      // [n_seq, n_res, 49]
    in.seq_mask = as_float(features.seq_mask, b);                      // [n_res]
    in.msa_mask = as_float(features.msa_mask, b);                      // [n_seq, n_res]
    in.aatype = as_index(features.aatype, b);                          // [n_res]
    in.residue_index = as_index(features.residue_index, b);            // [n_res]
    in.extra_msa = as_index(features.extra_msa, b);                    // [n_extra, n_res]
    in.extra_has_deletion = as_float(features.extra_has_deletion, b);  // [n_extra, n_res]
    in.extra_deletion_value = as_float(features.extra_deletion_value, b);
    in.extra_msa_mask = as_float(features.extra_msa_mask, b);
    // AlphaFold pads the MSA and the extra MSA to fixed sizes with rows whose mask is 0. Such rows
    // change nothing for the others (attention keys are masked, the outer product mean weighs rows
    // by the mask), so trailing fully masked rows are dropped before the trunk: a shallow MSA costs
    // what it holds, not what the preset allows.
    const auto trim = [](at::Tensor& mask, std::initializer_list<at::Tensor*> rows_of_mask) {
      if (!mask.defined() || mask.size(0) == 0) return;
      const auto used = mask.amax(-1).gt(0).nonzero();  // [n_used, 1]
      const int64_t keep = used.numel() == 0 ? 1 : used.max().item<int64_t>() + 1;
      if (keep == mask.size(0)) return;
      mask = mask.slice(0, 0, keep);
      for (auto* tensor : rows_of_mask)
        if (tensor->defined()) *tensor = tensor->slice(0, 0, keep);
    };
    trim(in.msa_mask, {&in.msa_feat});
    trim(in.extra_msa_mask, {&in.extra_msa, &in.extra_has_deletion, &in.extra_deletion_value});
    // A complex's chains: one row for every batch.
    if (!features.asym_id.empty()) in.asym_id = at::tensor(features.asym_id).to(options.device, at::kLong);  // [n_res]
    // The recycled state on the run's device too (a caller may pass it from elsewhere, e.g. the CPU).
    in.prev_pos = previous.pos.to(options.device);                               // [n_res, 37, 3]
    in.prev_msa_first_row = previous.msa_first_row.to(options.device);           // [n_res, c_m]
    in.prev_pair = previous.pair.to(options.device);                             // [n_res, n_res, c_z]
    in.template_aatype = as_index(features.template_aatype, b);                  // [n_templ, n_res]
    in.template_all_atom_masks = as_float(features.template_all_atom_masks, b);  // [n_templ, n_res, 37]
    in.template_mask = as_float(features.template_mask, b);                      // [n_templ]
    in.template_pseudo_beta_mask = as_float(features.template_pseudo_beta_mask, b);
    // Template coordinates stay float32 (the template embedding measures distances up to ~50 A).
    in.template_all_atom_positions = features.template_all_atom_positions.defined()
                                         ? features.template_all_atom_positions[b].to(options.device, at::kFloat)
                                         : at::Tensor();  // [n_templ, n_res, 37, 3]
    in.template_pseudo_beta = features.template_pseudo_beta.defined()
                                  ? features.template_pseudo_beta[b].to(options.device, at::kFloat)
                                  : at::Tensor();  // [n_templ, n_res, 3]
    return in;
  };

  // Trunk, averaged over the ensemble (Alg. 2 lines 5-18); the MSA representation and the batch
  // the heads see are those of the first member.
  const int64_t num_ensemble = config_.data.eval.num_ensemble;
  const auto batch0 = inputs(first_batch);
  // The trunk runs in options.dtype; the heads and the structure module always in float32 (so a
  // bfloat16 trunk is AlphaFold's mixed precision: geometry and confidences keep full precision).
  const auto trunk_in_float32 = [](EvoformerOutputs t) {
    t.msa = t.msa.to(at::kFloat);
    t.pair = t.pair.to(at::kFloat);
    t.msa_first_row = t.msa_first_row.to(at::kFloat);
    t.single = t.single.to(at::kFloat);
    return t;
  };
  auto trunk = trunk_in_float32(evoformer_.forward(batch0, options));
  for (int64_t e = 1; e < num_ensemble; ++e) {
    const auto member = trunk_in_float32(evoformer_.forward(inputs(first_batch + e), options));
    trunk.single = trunk.single + member.single;
    trunk.pair = trunk.pair + member.pair;
    trunk.msa_first_row = trunk.msa_first_row + member.msa_first_row;
  }
  if (num_ensemble > 1) {
    trunk.single = trunk.single / static_cast<double>(num_ensemble);
    trunk.pair = trunk.pair / static_cast<double>(num_ensemble);
    trunk.msa_first_row = trunk.msa_first_row / static_cast<double>(num_ensemble);
  }

  ModelOutputs out;
  out.single = trunk.single;                // [n_res, c_s]
  out.pair = trunk.pair;                    // [n_res, n_res, c_z]
  out.msa_first_row = trunk.msa_first_row;  // [n_res, c_m]
  // Heads in AlphaFold's order: distogram, experimentally resolved, masked MSA, structure module,
  // then the confidence heads that read the structure module's activations.
  if (distogram_) out.distogram = distogram_->forward(trunk.pair);
  if (experimentally_resolved_) out.experimentally_resolved_logits = experimentally_resolved_->forward(trunk.single);
  if (masked_msa_) out.masked_msa_logits = masked_msa_->forward(trunk.msa);
  const auto seq_mask = batch0.seq_mask.to(at::kFloat);  // [n_res]
  out.structure = structure_module_.forward(trunk.single, trunk.pair, seq_mask, batch0.aatype);
  if (predicted_lddt_) {
    out.predicted_lddt_logits = predicted_lddt_->forward(out.structure.act);  // [n_res, 50]
    out.plddt = compute_plddt(out.predicted_lddt_logits.to(at::kFloat));      // [n_res]
    const auto& mask = seq_mask;
    out.mean_plddt = (out.plddt * mask).sum().item<double>() / mask.sum().item<double>();
  }
  if (predicted_aligned_error_) {
    out.aligned_error = predicted_aligned_error_->forward(trunk.pair);
    const auto logits = out.aligned_error->logits.to(at::kFloat), breaks = out.aligned_error->breaks.to(at::kFloat);
    const auto pae = compute_predicted_aligned_error(logits, breaks);
    out.predicted_aligned_error = pae.predicted_aligned_error;  // [n_res, n_res]
    out.max_predicted_aligned_error = pae.max_predicted_aligned_error;
    out.ptm = predicted_tm_score(logits, breaks, seq_mask);
  }
  return out;
}

AlphaFoldModel::Recycled AlphaFoldModel::initial_state(int64_t n_res, const RunOptions& options) const {
  const auto& e = config_.model.embeddings_and_evoformer;
  const auto zeros = [&](at::IntArrayRef shape) {
    return at::zeros(shape, at::TensorOptions().device(options.device).dtype(options.dtype));
  };
  // Recycled geometry stays float32 whatever the trunk's dtype (its distogram bins need it).
  return {at::zeros({n_res, 37, 3}, at::TensorOptions().device(options.device).dtype(at::kFloat)),
          zeros({n_res, e.msa_channel}), zeros({n_res, n_res, e.pair_channel})};
}

ModelOutputs AlphaFoldModel::predict(const ProcessedFeatures& features, const RunOptions& options,
                                     const IterationCallback& on_iteration) const {
  return predict(
      features.n_batch(), features.n_res(),
      [&](int64_t first, int64_t count) { return features.batches(first, count); }, options, on_iteration);
}

ModelOutputs AlphaFoldModel::predict(const InputBatches& batches, const RunOptions& options,
                                     const IterationCallback& on_iteration) const {
  return predict(
      batches.n_batch(), batches.n_res(), [&](int64_t first, int64_t count) { return batches.batches(first, count); },
      options, on_iteration);
}

void AlphaFoldModel::check_batch_count(int64_t n_batch) const {
  const int64_t num_ensemble = config_.data.eval.num_ensemble;
  const bool resample = config_.model.resample_msa_in_recycling;
  const int64_t needed = (resample ? config_.model.num_recycle + 1 : 1) * num_ensemble;
  const std::string ensembling = num_ensemble > 1 ? " with ensembling" : "";
  if (n_batch < needed)
    fail_input(
        "features: {} batches on the leading axis, but {} recycles{} need {}: make the features with the same "
        "num_recycle and num_ensemble as the model config{}",
        n_batch, config_.model.num_recycle, ensembling, needed,
        resample && n_batch >= num_ensemble
            ? fmt::format(", or run {0} recycles (kfold predict --recycles {0}, Python's recycles={0})",
                          n_batch / num_ensemble - 1)
            : "");
}

ModelOutputs AlphaFoldModel::predict(int64_t n_batch, int64_t n_res,
                                     const std::function<ProcessedFeatures(int64_t, int64_t)>& batches,
                                     const RunOptions& options, const IterationCallback& on_iteration) const {
  check_batch_count(n_batch);
  const int64_t num_iterations = config_.model.num_recycle + 1;
  const int64_t num_ensemble = config_.data.eval.num_ensemble;
  const bool resample = config_.model.resample_msa_in_recycling;
  if (const int64_t needed = (resample ? num_iterations : 1) * num_ensemble; n_batch > needed)
    log_warn("features: {} batches on the leading axis; {} recycles{} use the first {} (the rest are ignored)", n_batch,
             config_.model.num_recycle, num_ensemble > 1 ? " with ensembling" : "", needed);
  Recycled previous = initial_state(n_res, options);
  ModelOutputs out;
  ProcessedFeatures features;  // this iteration's batches: the ensemble members, [num_ensemble, ...]
  for (int64_t r = 0; r < num_iterations; ++r) {
    if (r == 0 || resample) {
      features = ProcessedFeatures{};  // the previous iteration's batches go before the next ones are made
      features = batches(resample ? r * num_ensemble : 0, num_ensemble);
    }
    // The previous iteration's outputs go first: only `previous` is recycled, and its heads' logits ([n_res,
    // n_res, 64] each) and representations would otherwise stay alive through this iteration's peak.
    out = ModelOutputs{};
    out = iteration(features, 0, previous, options);
    previous = {out.structure.final_atom_positions, out.msa_first_row.to(options.dtype), out.pair.to(options.dtype)};
    out.num_iterations = r + 1;
    if (on_iteration) on_iteration(r, num_iterations, out);
  }
  return out;
}

}  // namespace kfold::fold

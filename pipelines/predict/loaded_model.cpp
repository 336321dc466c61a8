// LoadedModel (pipelines/predict/loaded_model.hpp): parameters loaded once, the network built on first
// use for each template setting, then run on any number of targets.
#include "pipelines/predict/loaded_model.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <span>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/text_input.hpp"
#include "fold/confidence.hpp"
#include "pipelines/predict/prediction_protein.hpp"

namespace kfold::pipelines {

namespace {

// Rows the model keeps (AlphaFoldModel drops the trailing padded rows of both MSAs).
int64_t rows_used(const at::Tensor& mask) {
  return mask.defined() ? mask[0].amax(-1).gt(0).sum().item<int64_t>() : int64_t{0};
}

// NaN or infinite positions or confidences (from finite but absurd weights or features, or an
// overflow) would be written as files no reader takes: refused before any file is written.
void check_finite(const std::string& model, const fold::ModelOutputs& out) {
  const auto finite = [](const at::Tensor& t) { return !t.defined() || at::isfinite(t).all().item<bool>(); };
  const auto& positions = out.structure.final_atom_positions;
  if (!finite(positions) || !finite(out.plddt) || !finite(out.predicted_aligned_error) || !std::isfinite(out.ptm))
    fail_runtime(
        "{}: the network's outputs hold NaN or infinite values (atom positions, pLDDT, PAE or pTM); no file of "
        "it was written. The parameters or the features hold absurd values, or the "
        "trunk overflowed (try --dtype fp32)",
        model);
}

at::Tensor cpu(const at::Tensor& t, at::ScalarType type) { return t.detach().to(at::kCPU, type).contiguous(); }

template <typename T>
std::span<const T> span_of(const at::Tensor& t) {
  return {t.data_ptr<T>(), static_cast<size_t>(t.numel())};
}

}  // namespace

fold::ModelConfig model_config_for(const ModelSpec& spec) {
  auto config = fold::model_config(spec.name);
  if (!spec.config.empty()) {
    try {
      data::check_input_file(spec.config);  // missing, a directory: the message names the option too
    } catch (const InputError& e) {
      fail_input("--config {}", e.what());
    }
    fold::apply_config_file(config, spec.config);
  }
  if (spec.recycles) {
    if (*spec.recycles < 0 || *spec.recycles > kMaxRecycles)
      fail_input("--recycles {}: must be in 0..{} (AlphaFold's default is 3)", *spec.recycles, kMaxRecycles);
    config.model.num_recycle = *spec.recycles;
    config.data.common.num_recycle = *spec.recycles;
  }
  // The input pipeline must make the batches the network runs: one per recycle and ensemble member with
  // MSA resampling, the ensemble's once without (found here, before any file is written, and blamed on
  // the config). More batches are refused where AlphaFold's network would ensemble them: it takes
  // batches / (num_recycle + 1) of them per recycle (rounded down; the last ones unused), all of them without
  // resampling, where kfold runs data.eval.num_ensemble (model.num_recycle 1 alone, over data.common.num_recycle
  // 3, made a 2-member ensemble in AlphaFold; model.num_recycle 2 alone leaves AlphaFold one batch per recycle,
  // the fourth unused, as kfold runs it).
  const int64_t needed =
      (config.model.resample_msa_in_recycling ? config.model.num_recycle + 1 : 1) * config.data.eval.num_ensemble;
  const int64_t made = fold::input_pipeline_config(config).num_batches();
  const int64_t members = config.model.resample_msa_in_recycling ? made / (config.model.num_recycle + 1) : made;
  if (members != config.data.eval.num_ensemble)
    fail_input(
        "{}: the network runs {} recycles (model.num_recycle {}, model.resample_msa_in_recycling {}) and needs {} "
        "batches of features, but the input pipeline makes {} (data.common.num_recycle {}, "
        "data.common.resample_msa_in_recycling {}{}); give both num_recycle keys one value (or use --recycles) and "
        "both resample_msa_in_recycling keys one value",
        spec.config.empty() ? spec.name : spec.config.string(), config.model.num_recycle, config.model.num_recycle,
        config.model.resample_msa_in_recycling, needed, made, config.data.common.num_recycle,
        config.data.common.resample_msa_in_recycling,
        made > needed ? fmt::format("; AlphaFold would average {} of them into each recycle as ensemble members, not "
                                    "data.eval.num_ensemble {}",
                                    members, config.data.eval.num_ensemble)
                      : "");
  // A config the input pipeline cannot run is refused here, named by its file, before any work (kfold predict and
  // batch check their models first; an agent's Potts fit and search, a Python model's first prediction come
  // later), also for processed features, which AlphaFold's own pipeline could not have made with it.
  try {
    fold::input_pipeline_config(config).validate();
  } catch (const InputError& e) {
    fail_input("{}: {}", spec.config.empty() ? spec.name : spec.config.string(), e.what());
  }
  return config;
}

LoadedModel::LoadedModel(const ModelSpec& spec, const std::filesystem::path& params, uint64_t random_seed,
                         const fold::RunOptions& run)
    : name_(spec.name), params_file_(params), config_(model_config_for(spec)), run_(run) {
  // Weights stay float32 (a bfloat16 trunk casts them per use; the structure module needs float32).
  const auto options = at::TensorOptions().dtype(at::kFloat).device(run.device);
  store_ = params.empty() ? fold::ParameterStore::random(random_seed, options, name_)
                          : std::make_unique<fold::ParameterStore>(params, options);
}

const fold::AlphaFoldModel& LoadedModel::network(bool with_templates) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = networks_[with_templates ? 1 : 0];
  if (slot) return *slot;
  auto config = config_;
  auto& templates = config.model.embeddings_and_evoformer.template_;
  if (templates.enabled && !with_templates) {
    // With no template found AlphaFold's template embedding adds nothing (its output is zeroed and
    // the torsion rows are masked), so a template-free run is exactly that case.
    if (config.data.common.use_templates)
      log_info("{}: no templates (no --template-db, or no usable hit); the template embedding is off", name_);
    else  // AlphaFold's network would fail on the missing template features; kfold runs it as without hits
      log_info(
          "{}: data.common.use_templates is false (the config), so the input pipeline makes no template features; "
          "the template embedding is off",
          name_);
    templates.enabled = false;
    templates.embed_torsion_angles = false;
  }
  slot = std::make_unique<fold::AlphaFoldModel>(store_->root(), config);
  log_info("{}: {:.1f} M parameters{}", name_, static_cast<double>(store_->used_value_count()) / 1e6,
           store_->is_random() ? " (random)" : "");
  if (const auto unused = store_->unused_keys(); !unused.empty())
    log_info("{}: {} parameters unused by this config (e.g. {})", name_, unused.size(), unused.front());
  return *slot;
}

Prediction LoadedModel::predict(const fold::RawFeatures& raw, int64_t seed, bool check_memory,
                                const fold::IterationCallback& on_iteration) const {
  const auto start = std::chrono::steady_clock::now();
  auto prediction = predict(fold::InputBatches(raw, input_pipeline_config(), seed), check_memory, on_iteration);
  prediction.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  prediction.asym_id = raw.asym_id;
  prediction.iptm = interface_ptm(prediction.outputs, raw.asym_id);
  return prediction;
}

std::optional<double> interface_ptm(const fold::ModelOutputs& outputs, std::span<const int32_t> asym_id) {
  if (!outputs.aligned_error || std::adjacent_find(asym_id.begin(), asym_id.end(), std::not_equal_to<>()) ==
                                    asym_id.end())  // no head, or one chain
    return std::nullopt;
  const auto& logits = outputs.aligned_error->logits;  // [n_res, n_res, 64]
  const auto ids = at::tensor(at::ArrayRef<int32_t>(asym_id.data(), asym_id.size())).to(logits.device());  // [n_res]
  // Residue weights all 1: kfold's features are unpadded (AlphaFold's seq_mask).
  return fold::predicted_tm_score(logits.to(at::kFloat), outputs.aligned_error->breaks.to(at::kFloat), {}, ids,
                                  /*interface=*/true);
}

data::Protein prediction_protein(const Prediction& p) {
  const auto aatype = cpu(p.aatype, at::kLong), residue_index = cpu(p.residue_index, at::kLong);
  const auto positions = cpu(p.outputs.structure.final_atom_positions, at::kFloat);  // [n_res, 37, 3]
  const auto mask = cpu(p.outputs.structure.final_atom_mask, at::kFloat);            // [n_res, 37]
  const auto plddt = cpu(p.outputs.plddt, at::kFloat);                               // [n_res]
  if (!p.asym_id.empty()) {
    const auto [chain_index, numbering] = chains_from_asym_id(p.asym_id, span_of<int64_t>(residue_index));
    return protein_from_prediction({span_of<int64_t>(aatype), numbering, span_of<float>(positions),
                                    span_of<float>(mask), span_of<float>(plddt), chain_index});
  }
  return protein_from_prediction({span_of<int64_t>(aatype), span_of<int64_t>(residue_index), span_of<float>(positions),
                                  span_of<float>(mask), span_of<float>(plddt)});
}

fold::ProblemSize LoadedModel::problem_size(const fold::ProcessedFeatures& features) const {
  const bool with_templates = features.template_aatype.defined();
  const int64_t n_templ =
      with_templates && config_.model.embeddings_and_evoformer.template_.enabled ? features.template_aatype.size(1) : 0;
  // All batches live in host memory for the run; a GPU holds one at a time.
  const int64_t bytes = fold::processed_feature_bytes(features);
  const int64_t ensemble = std::min(config_.data.eval.num_ensemble, features.n_batch());  // batches on a GPU at once
  return {features.n_res(),
          rows_used(features.msa_mask),
          rows_used(features.extra_msa_mask),
          n_templ,
          run_.device.is_cpu() ? bytes : bytes / std::max<int64_t>(1, features.n_batch()) * ensemble,
          store_->allocated_bytes()};
}

fold::ProblemSize LoadedModel::problem_size(int64_t n_res, int64_t n_seq, bool with_templates) const {
  const auto pipeline = fold::input_pipeline_config(config_);
  // The input pipeline's cluster centres are the first rows of the shuffled MSA, the extra MSA the next ones.
  const int64_t n_clust = std::min(n_seq, pipeline.num_msa_clusters());
  const int64_t n_extra = std::min(n_seq - n_clust, pipeline.max_extra_msa);
  const int64_t n_templ =
      with_templates && config_.model.embeddings_and_evoformer.template_.enabled ? pipeline.max_templates : 0;
  // One iteration's batches (its ensemble members) exist at a time, beside InputBatches' copy of the
  // whole MSA (ids, deletions and mask: 12 bytes a cell, in host memory) that every batch samples from.
  const int64_t feature_bytes = fold::processed_feature_bytes(pipeline, n_res, with_templates ? 1 : 0) /
                                    pipeline.num_batches() * pipeline.num_ensemble +
                                (run_.device.is_cpu() ? 12 * n_seq * n_res : 0);
  return {n_res, n_clust, n_extra, n_templ, feature_bytes, store_->allocated_bytes()};
}

fold::RunOptions LoadedModel::checked_run_options(const fold::ProblemSize& size, bool check_memory) const {
  const auto run = fold::resolve_chunk_size(config_, size, run_);
  if (check_memory) fold::check_memory(config_, size, run);
  return run;
}

void LoadedModel::check_parameters(bool check_memory) const {
  // The weights must fit before they are allocated: the estimate of a one-residue target is about them.
  if (check_memory) (void)checked_run_options(fold::ProblemSize{1, 1, 0, 0, 0, store_->allocated_bytes()}, true);
  // With the template embedding where the preset has one: its parameters are checked too, and the network
  // without it is built (saying so) only for a target that has no templates.
  (void)network(config_.model.embeddings_and_evoformer.template_.enabled && config_.data.common.use_templates);
}

void LoadedModel::prepare(const fold::RawFeatures& raw, bool check_memory) const {
  // The input pipeline makes template arrays (max_templates of them, padded) when the preset uses them.
  const bool with_templates = input_pipeline_config().use_templates && raw.templates.n_templates > 0;
  // Memory first: the estimate counts the weights, which building the network allocates.
  (void)checked_run_options(problem_size(raw.n_res, raw.n_seq, with_templates), check_memory);
  (void)network(with_templates);
}

void LoadedModel::prepare(const fold::ProcessedFeatures& features, bool check_memory) const {
  (void)checked_run_options(problem_size(features), check_memory);
  (void)network(features.template_aatype.defined());
}

void LoadedModel::check_batch_count(const fold::ProcessedFeatures& features) const {
  network(features.template_aatype.defined()).check_batch_count(features.n_batch());
}

fold::InputPipelineConfig LoadedModel::input_pipeline_config() const { return fold::input_pipeline_config(config_); }

Prediction LoadedModel::predict(const fold::InputBatches& batches, bool check_memory,
                                const fold::IterationCallback& on_iteration) const {
  const auto start = std::chrono::steady_clock::now();
  const auto run =
      checked_run_options(problem_size(batches.n_res(), batches.msa_rows(), batches.with_templates()), check_memory);
  if (run.chunk_size != run_.chunk_size) log_info("{}: --chunk-size auto: {}", name_, run.chunk_size);
  Prediction prediction;
  prediction.model_name = name_;
  prediction.outputs = network(batches.with_templates()).predict(batches, run, on_iteration);
  check_finite(name_, prediction.outputs);
  prediction.aatype = batches.shared().aatype[0].to(at::kLong);
  prediction.residue_index = batches.shared().residue_index[0].to(at::kLong);
  prediction.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return prediction;
}

Prediction LoadedModel::predict(const fold::ProcessedFeatures& features, bool check_memory,
                                const fold::IterationCallback& on_iteration) const {
  const auto start = std::chrono::steady_clock::now();
  const auto run = checked_run_options(problem_size(features), check_memory);
  if (run.chunk_size != run_.chunk_size) log_info("{}: --chunk-size auto: {}", name_, run.chunk_size);
  Prediction prediction;
  prediction.model_name = name_;
  prediction.outputs = network(features.template_aatype.defined()).predict(features, run, on_iteration);
  check_finite(name_, prediction.outputs);
  prediction.aatype = features.aatype[0].to(at::kLong);
  prediction.residue_index = features.residue_index[0].to(at::kLong);
  prediction.asym_id = features.asym_id;
  prediction.iptm = interface_ptm(prediction.outputs, features.asym_id);
  prediction.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return prediction;
}

}  // namespace kfold::pipelines

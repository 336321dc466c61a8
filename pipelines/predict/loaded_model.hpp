// One model preset with its parameters loaded once and run on many targets: what `kfold predict`,
// `kfold batch` (one load per worker) and the Python module's kfold.Model share.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data/protein.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/memory_estimate.hpp"
#include "fold/raw_features.hpp"
#include "fold/run_options.hpp"
#include "fold/weights.hpp"

namespace kfold::pipelines {

// The most recycles a run takes: the bound only stops typos (10^12 asked the input pipeline for 300 TB); AlphaFold
// runs 3, ColabFold up to ~48.
inline constexpr int64_t kMaxRecycles = 100000;

// What selects and configures a model: the preset, JSON overrides and recycles.
struct ModelSpec {
  std::string name;                 // preset, e.g. "model_1_ptm"
  std::filesystem::path config;     // JSON overrides with AlphaFold's key names; empty: none
  std::optional<int64_t> recycles;  // overrides model.num_recycle and data.common.num_recycle
};

// The preset's config with `spec`'s overrides; InputError for a bad config file, recycles out of range, or values
// the input pipeline cannot run (named by the config file, or the preset without one).
fold::ModelConfig model_config_for(const ModelSpec& spec);

// One prediction: the model's outputs and the residues they belong to.
struct Prediction {
  std::string model_name;
  fold::ModelOutputs outputs;    // final_atom_positions [n_res, 37, 3], plddt [n_res], PAE [n_res, n_res], ...
  at::Tensor aatype;             // [n_res] int64, AlphaFold's residue order
  at::Tensor residue_index;      // [n_res] int64, 0-based
  std::vector<int32_t> asym_id;  // [n_res] the features' chains (several as one input); empty: one chain
  std::optional<double> iptm;    // interface_ptm(outputs, asym_id)
  double seconds = 0;            // input pipeline + network
};

// ipTM (AlphaFold's predicted_tm_score with asym_id: pTM over residue pairs of different chains, as ColabFold
// reports it for a complex run with the monomer models) of a model with an aligned-error head on a target of
// several chains (asym_id [n_res]); nullopt otherwise.
std::optional<double> interface_ptm(const fold::ModelOutputs& outputs, std::span<const int32_t> asym_id);

// The prediction as unrelaxed_<model>.pdb/.cif hold it (pLDDT in the B-factor column of every atom; with an
// asym_id one chain per id, each numbered from 1: chains_from_asym_id).
data::Protein prediction_protein(const Prediction& prediction);

class LoadedModel {
 public:
  // Loads params_<name>.npz from `params` (a file), or deterministic random weights of the real shapes
  // from `random_seed` when `params` is empty (a demo: predictions say they are not predictions).
  LoadedModel(const ModelSpec& spec, const std::filesystem::path& params, uint64_t random_seed,
              const fold::RunOptions& run);

  const std::string& name() const { return name_; }
  const fold::ModelConfig& config() const { return config_; }
  const fold::RunOptions& run_options() const { return run_; }
  bool random_weights() const { return store_->is_random(); }
  const std::filesystem::path& params_file() const { return params_file_; }  // empty with random weights

  // Raw features (sequence + MSAs) through this model's input pipeline with `seed`, then the network.
  // `check_memory`: refuse with a RuntimeError (and a --chunk-size hint) when the estimate exceeds what
  // is free. `on_iteration` sees every recycling iteration.
  Prediction predict(const fold::RawFeatures& raw, int64_t seed, bool check_memory = true,
                     const fold::IterationCallback& on_iteration = {}) const;
  // The same with the input pipeline already set up (its batches are made as the recycles need them).
  Prediction predict(const fold::InputBatches& batches, bool check_memory = true,
                     const fold::IterationCallback& on_iteration = {}) const;
  // Already processed features (AlphaFold's dict with the leading recycling axis). Template arrays
  // switch the template embedding on when the preset has one; without them it is off.
  Prediction predict(const fold::ProcessedFeatures& features, bool check_memory = true,
                     const fold::IterationCallback& on_iteration = {}) const;

  // What predict() would refuse, found before a target writes any file: builds the network (every
  // parameter's key and shape is checked: InputError) and, with `check_memory`, compares the memory
  // estimate with what is free (RuntimeError).
  void prepare(const fold::RawFeatures& raw, bool check_memory) const;
  // Builds the network (with the template embedding where the preset has one): every parameter's key and
  // shape is checked (InputError); with `check_memory` the weights must fit first (MemoryError).
  void check_parameters(bool check_memory) const;
  void prepare(const fold::ProcessedFeatures& features, bool check_memory) const;
  // InputError when `features` hold too few batches for the config's recycles (fold::AlphaFoldModel).
  void check_batch_count(const fold::ProcessedFeatures& features) const;
  // The input pipeline's part of the config (checked by model_config_for).
  fold::InputPipelineConfig input_pipeline_config() const;

 private:
  // The network for features with or without template arrays, built on first use (shares the weights).
  const fold::AlphaFoldModel& network(bool with_templates) const;
  // The rows and templates the network sees for `features` (padded MSA rows are dropped).
  fold::ProblemSize problem_size(const fold::ProcessedFeatures& features) const;
  // The same for an MSA of n_seq rows through this model's input pipeline, which holds one
  // iteration's batches at a time.
  fold::ProblemSize problem_size(int64_t n_res, int64_t n_seq, bool with_templates) const;
  // With `check_memory`, refuses (RuntimeError) what will not fit; the run options with --chunk-size
  // auto resolved.
  fold::RunOptions checked_run_options(const fold::ProblemSize& size, bool check_memory) const;

  std::string name_;
  std::filesystem::path params_file_;
  fold::ModelConfig config_;
  fold::RunOptions run_;
  std::unique_ptr<fold::ParameterStore> store_;  // outlives the networks: they view its tensors
  mutable std::mutex mutex_;
  mutable std::array<std::unique_ptr<fold::AlphaFoldModel>, 2> networks_;  // [without, with templates]
};

}  // namespace kfold::pipelines

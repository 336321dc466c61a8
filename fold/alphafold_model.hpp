// AlphaFold2's monomer model: one AlphaFoldIteration (Suppl. Alg. 2 lines 3-22: trunk, structure
// module, heads; modules.AlphaFoldIteration) and the recycling loop around it (Alg. 2, Suppl. 1.10;
// modules.AlphaFold), with pLDDT, PAE and pTM from the confidence heads.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "fold/config.hpp"
#include "fold/distogram_head.hpp"
#include "fold/embeddings_and_evoformer.hpp"
#include "fold/experimentally_resolved_head.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/masked_msa_head.hpp"
#include "fold/predicted_aligned_error_head.hpp"
#include "fold/predicted_lddt_head.hpp"
#include "fold/run_options.hpp"
#include "fold/structure_module.hpp"

namespace kfold::fold {

// Outputs of the last iteration, as AlphaFold's prediction result (float32, on RunOptions::device).
struct ModelOutputs {
  StructureModuleOutputs structure;           // final_atom_positions [n_res, 37, 3], final_atom_mask [n_res, 37], ...
  at::Tensor single;                          // [n_res, c_s] representations["single"]
  at::Tensor pair;                            // [n_res, n_res, c_z]
  at::Tensor msa_first_row;                   // [n_res, c_m]
  DistogramOutputs distogram;                 // logits [n_res, n_res, 64], bin_edges [63] (undefined: head off)
  at::Tensor masked_msa_logits;               // [n_seq, n_res, 23] (n_seq: rows up to the last unmasked one)
  at::Tensor experimentally_resolved_logits;  // [n_res, 37]
  at::Tensor predicted_lddt_logits;           // [n_res, 50]
  at::Tensor plddt;                           // [n_res] 0..100
  double mean_plddt = 0;                      // over seq_mask
  // pTM models (predicted_aligned_error head with a non-zero weight) only:
  std::optional<PredictedAlignedErrorOutputs> aligned_error;  // logits [n_res, n_res, 64], breaks [63]
  at::Tensor predicted_aligned_error;                         // [n_res, n_res] Angstrom
  double max_predicted_aligned_error = 0;
  double ptm = 0;
  int64_t num_iterations = 0;  // recycles + 1
};

// Called after every iteration with (iteration index, number of iterations, its outputs).
using IterationCallback = std::function<void(int64_t, int64_t, const ModelOutputs&)>;

// Builds every module once from the store's root scope (keys "alphafold/alphafold_iteration/..."); heads with weight 0
// are not built (AlphaFold's rule: the non-pTM presets have no aligned-error head).
class AlphaFoldModel {
 public:
  AlphaFoldModel(const ParameterScope& root, const ModelConfig& config);

  // Runs config.model.num_recycle + 1 iterations; iteration r uses batch r of `features` when
  // resample_msa_in_recycling (batches r * num_ensemble ... with ensembling), batch 0 otherwise.
  // InputError when `features` has fewer batches than that needs.
  ModelOutputs predict(const ProcessedFeatures& features, const RunOptions& options,
                       const IterationCallback& on_iteration = {}) const;
  // InputError when features with `n_batch` batches on their leading axis are too few for the config's
  // recycles and ensemble (the message gives the largest --recycles they hold).
  void check_batch_count(int64_t n_batch) const;
  // The same with each iteration's batches built when it starts (one recycle's features in memory).
  ModelOutputs predict(const InputBatches& batches, const RunOptions& options,
                       const IterationCallback& on_iteration = {}) const;

  // Recycled state between iterations (Alg. 2 lines 20-21): the previous final atom positions, MSA
  // first row and pair representation; zeros before the first iteration.
  struct Recycled {
    at::Tensor pos;            // [n_res, 37, 3]
    at::Tensor msa_first_row;  // [n_res, c_m]
    at::Tensor pair;           // [n_res, n_res, c_z]
  };
  Recycled initial_state(int64_t n_res, const RunOptions& options) const;

  // One iteration (Alg. 2 lines 3-22) on batch `first_batch` of `features` (and the ensemble
  // members after it) from `previous` (moved to options.device): what predict() runs for each recycle.
  ModelOutputs iteration(const ProcessedFeatures& features, int64_t first_batch, const Recycled& previous,
                         const RunOptions& options) const;

  const ModelConfig& config() const { return config_; }

 private:
  // predict() over `n_batch` batches of n_res residues; batches(first, count) gives them.
  ModelOutputs predict(int64_t n_batch, int64_t n_res,
                       const std::function<ProcessedFeatures(int64_t, int64_t)>& batches, const RunOptions& options,
                       const IterationCallback& on_iteration) const;

  ModelConfig config_;
  EmbeddingsAndEvoformer evoformer_;
  StructureModule structure_module_;
  std::optional<DistogramHead> distogram_;
  std::optional<MaskedMsaHead> masked_msa_;
  std::optional<ExperimentallyResolvedHead> experimentally_resolved_;
  std::optional<PredictedLddtHead> predicted_lddt_;
  std::optional<PredictedAlignedErrorHead> predicted_aligned_error_;
};

}  // namespace kfold::fold

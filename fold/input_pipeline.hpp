// AlphaFold's inference input pipeline (alphafold/model/features.py np_example_to_features with
// model/tf/input_pipeline.py): raw features → the processed, batched model inputs, bit-exact to the
// reference for a given seed (Suppl. 1.2.5-1.2.7: MSA clustering, BERT masking, extra MSA, msa_feat). The
// reference is alphafold-colabfold's NumPy port, which reproduces single-threaded TensorFlow: DeepMind's TF
// pipeline on several cores draws the BERT mask's categorical samples per thread (TF's Multinomial skips its
// generator per row block), so there the masked residues differ as with another seed, from the same distribution.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fold/config.hpp"
#include "fold/msa_transforms.hpp"
#include "fold/raw_features.hpp"

namespace kfold::fold {

// The slice of AlphaFold's config.data that the monomer input pipeline reads, with its key names
// (data.eval.* and data.common.*). Defaults are AlphaFold's base config (model_2 / model_5); model_1,
// model_3 and model_4 use max_extra_msa 5120, model_1 and model_2 reduce_msa_clusters_by_max_templates.
struct InputPipelineConfig {
  int64_t max_msa_clusters = 512;                     // data.eval: cluster centres per batch
  int64_t max_templates = 4;                          // data.eval: templates kept (padded to this)
  int64_t num_ensemble = 1;                           // data.eval
  double masked_msa_replace_fraction = 0.15;          // data.eval
  int64_t max_extra_msa = 1024;                       // data.common; 0 drops the extra MSA
  int64_t num_recycle = 3;                            // data.common
  bool resample_msa_in_recycling = true;              // data.common
  bool reduce_msa_clusters_by_max_templates = false;  // data.common
  bool msa_cluster_features = true;                   // data.common; false: msa_feat has 25 channels
  bool use_templates = false;                         // data.common: template_* arrays from raw templates
  MaskedMsaProbs masked_msa{};                        // data.common.masked_msa

  // Rows of msa_feat & co.: max_msa_clusters, less max_templates when reduced.
  int64_t num_msa_clusters() const;
  // Batches on the leading axis: num_ensemble, times num_recycle + 1 when resampling per recycle.
  int64_t num_batches() const;
  // InputError naming the field for values the reference would reject.
  void validate() const;
};

// The pipeline's slice of a model config (config.data.common and config.data.eval).
InputPipelineConfig input_pipeline_config(const ModelConfig& config);

// The processed features with AlphaFold's names, shapes and dtypes; every array has the leading
// batch axis [n_batch] = num_batches() (one batch per recycle and ensemble member, in that order
// of iteration: batch b is recycle b / num_ensemble, ensemble member b % num_ensemble).
// n_clust = num_msa_clusters(), n_extra = max_extra_msa, rows past the real MSA are zero padding.
struct ProcessedFeatures {
  at::Tensor aatype;                    // int32 [n_batch, n_res]
  at::Tensor residue_index;             // int32 [n_batch, n_res]
  at::Tensor seq_length;                // int32 [n_batch]
  at::Tensor seq_mask;                  // f32 [n_batch, n_res]
  at::Tensor is_distillation;           // f32 [n_batch]
  at::Tensor target_feat;               // f32 [n_batch, n_res, 22] between-segment break, aatype one-hot (21)
  at::Tensor msa_feat;                  // f32 [n_batch, n_clust, n_res, 49] msa one-hot (23), has_deletion,
                                        //   deletion_value, cluster_profile (23), cluster deletion_mean value
  at::Tensor msa_mask;                  // f32 [n_batch, n_clust, n_res]
  at::Tensor msa_row_mask;              // f32 [n_batch, n_clust]
  at::Tensor bert_mask;                 // f32 [n_batch, n_clust, n_res]
  at::Tensor true_msa;                  // int32 [n_batch, n_clust, n_res]
  at::Tensor extra_msa;                 // int32 [n_batch, n_extra, n_res]    (undefined when n_extra = 0)
  at::Tensor extra_msa_mask;            // f32 [n_batch, n_extra, n_res]      (likewise)
  at::Tensor extra_msa_row_mask;        // f32 [n_batch, n_extra]             (likewise)
  at::Tensor extra_has_deletion;        // f32 [n_batch, n_extra, n_res]      (likewise)
  at::Tensor extra_deletion_value;      // f32 [n_batch, n_extra, n_res]      (likewise)
  at::Tensor atom14_atom_exists;        // f32 [n_batch, n_res, 14]
  at::Tensor atom37_atom_exists;        // f32 [n_batch, n_res, 37]
  at::Tensor residx_atom14_to_atom37;   // int32 [n_batch, n_res, 14]
  at::Tensor residx_atom37_to_atom14;   // int32 [n_batch, n_res, 37]
  at::Tensor random_crop_to_size_seed;  // int32 [n_batch, 2] (unused by the model)
  // Template features (AlphaFold's use_templates with raw templates; else undefined).
  // n_templ = data.eval.max_templates: the first raw templates, padding templates have template_mask 0.
  at::Tensor template_aatype;              // int32 [n_batch, n_templ, n_res] 0..21 (21: gap)
  at::Tensor template_all_atom_masks;      // f32 [n_batch, n_templ, n_res, 37]
  at::Tensor template_all_atom_positions;  // f32 [n_batch, n_templ, n_res, 37, 3]
  at::Tensor template_mask;                // f32 [n_batch, n_templ]
  at::Tensor template_pseudo_beta;         // f32 [n_batch, n_templ, n_res, 3]
  at::Tensor template_pseudo_beta_mask;    // f32 [n_batch, n_templ, n_res]
  at::Tensor template_sum_probs;           // f32 [n_batch, n_templ, 1] (unused by the model)
  // A complex given as one input (ColabFold's way with the monomer models): the chain of each residue [n_res];
  // empty: one chain. It names the output chains, gives ipTM, and sets the relative positions of residues of
  // different chains to the extreme classes (alphafold-colabfold's rule; EmbeddingsAndEvoformer).
  std::vector<int32_t> asym_id;

  int64_t n_batch() const { return aatype.size(0); }
  int64_t n_res() const { return aatype.size(1); }
  // (AlphaFold name, tensor) for every defined array, in the order above.
  std::vector<std::pair<std::string, at::Tensor>> named() const;
  // The field of that name (nullptr for an unknown name).
  at::Tensor* field(std::string_view name);
  // Batches first .. first + count - 1 of every array (views, no copy).
  ProcessedFeatures batches(int64_t first, int64_t count) const;
};

// Runs the pipeline. Seed semantics (those of the reference with tf.compat.v1.set_random_seed(seed)):
// the seed (any int64, reduced modulo 2^31 - 1) is TF's graph seed; each random op (two unused
// uniform draws, then per batch the cluster shuffle, BERT mask positions, BERT categorical and the
// extra-MSA shuffle) takes the next op seed from a counter. With one batch the counter continues
// (op seeds 2..5); with several (tf.map_fn) it restarts at 0 for every batch, which then differ only
// through the Philox counter offset TF gives each re-execution. The same seed, config and raw
// features always give the same arrays, independent of threads and machines.
ProcessedFeatures make_model_inputs(const RawFeatures& raw, const InputPipelineConfig& config, int64_t seed);

// make_model_inputs one batch at a time: the non-ensembled transforms run once, in the constructor,
// and the per-batch ones (cluster sampling, BERT masking, cluster profiles, extra MSA) when batches
// are asked for, so a run holds one recycle's features instead of all of them (at AlphaFold's
// padding ~0.2 GB per recycle at L = 1024). batches(first, count) is that slice of
// make_model_inputs(raw, config, seed), bit for bit, whatever was asked before.
class InputBatches {
 public:
  InputBatches(const RawFeatures& raw, const InputPipelineConfig& config, int64_t seed);
  ~InputBatches();
  InputBatches(InputBatches&&) noexcept;

  const InputPipelineConfig& config() const;
  int64_t n_batch() const { return config().num_batches(); }
  int64_t n_res() const;
  int64_t msa_rows() const;     // rows of the raw MSA, the query's included
  bool with_templates() const;  // template arrays are made (use_templates and raw templates)
  // Batches first .. first + count - 1 (InputError outside 0 .. n_batch()).
  ProcessedFeatures batches(int64_t first, int64_t count) const;
  // The arrays every batch shares (aatype, residue_index, ..., templates) with a batch axis of 1;
  // the MSA arrays are undefined.
  const ProcessedFeatures& shared() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The bytes make_model_inputs allocates for raw features of n_res residues and n_templates templates:
// every batch, padded to num_msa_clusters() and max_extra_msa rows whatever the MSA's depth (divide
// by num_batches() for what one batch of InputBatches holds).
int64_t processed_feature_bytes(const InputPipelineConfig& config, int64_t n_res, int64_t n_templates);
// The bytes of the arrays `features` holds.
int64_t processed_feature_bytes(const ProcessedFeatures& features);

// Processed features as HDF5 datasets with AlphaFold's names (atomic write), and their reader for
// .h5 or .npz files (e.g. saved from the reference with np.savez); shapes and dtypes are checked
// against each other, errors name the file and the array. Arrays the model does not use may be absent.
void write_processed_features(const std::filesystem::path& path, const ProcessedFeatures& features);
ProcessedFeatures read_processed_features(const std::filesystem::path& path);

}  // namespace kfold::fold

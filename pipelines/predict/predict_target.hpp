// One target, end to end (the library function behind `kfold predict`): MSAs (given or searched),
// raw features, every selected model with recycling, ranking, and AlphaFold's output files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/msa.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "pipelines/predict/model_set.hpp"
#include "pipelines/predict/predict_options.hpp"
#include "pipelines/predict/target_id.hpp"

namespace kfold::pipelines {

struct ModelResult {
  std::string model_name;
  double mean_plddt = 0;
  double ptm = -1;  // -1 without an aligned-error head
  double seconds = 0;
  int64_t peak_gpu_bytes = -1;         // on a CUDA device: torch's allocator peak during the model's run; else -1
  int64_t num_residue_violations = 0;  // residues with a structural violation (violations.json)
  std::optional<double> iptm;          // a complex's ipTM (interface_ptm), with an aligned-error head
};

struct PredictSummary {
  std::string target_id;
  std::filesystem::path target_dir;
  int64_t n_res = 0;
  int64_t msa_depth = 0;             // rows of the raw MSA (query included); 0 with --features
  std::vector<ModelResult> models;   // in run order
  std::vector<std::string> ranking;  // model names, best first
  RankBy rank_by = RankBy::plddt;    // the metric of the ranking (--rank resolved for this target)
};

// One target's inputs: raw features (sequence + MSAs) or processed ones, and the MSAs to copy into
// the target's msas/ folder.
struct TargetInputs {
  std::string id;
  std::optional<fold::RawFeatures> raw;
  std::optional<fold::ProcessedFeatures> processed;
  std::vector<std::pair<std::string, data::Msa>> msas;  // (file name, MSA)
  std::string template_hits_m8;                         // the template search's hits (msas/pdb_hits.m8)
  std::string run_inputs_json;  // run.json's "inputs", taken before they were read (run_record.hpp); "": at the run
  double seconds = 0;           // reading and searching them
  // kfold predict: features.h5 and msas/ hold exactly this run's inputs (an earlier run's go). A batch
  // manages msas/ in its own MSA stage and leaves this false.
  bool owns_input_files = false;
};

// The inputs `options` names: the FASTA query with its MSAs (--msa files, a --db search) and templates
// (a template search), or --features. `on_id` is called with the target id as soon as it is known, before
// the MSAs are read and searched (kfold predict takes the target folder's lock there).
TargetInputs read_target_inputs(const PredictOptions& options,
                                const std::function<void(const std::string&)>& on_id = {});

// Runs the target. The target directory gets a `done` marker last; every file is written atomically.
// InputError for bad inputs (before any model runs), RuntimeError when memory is too small (with a
// suggested --chunk-size) or a computation fails.
PredictSummary predict_target(const PredictOptions& options);
// The same on inputs already read, with models loaded once for many targets.
PredictSummary predict_target(const TargetInputs& inputs, const PredictOptions& options, ModelSet& models);

}  // namespace kfold::pipelines

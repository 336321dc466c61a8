// One target, end to end (the library function behind `kfold predict`): MSAs (given or searched),
// raw features, every selected model with recycling, ranking, and AlphaFold's output files.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/msa.hpp"
#include "data/sequence.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "fold/run_options.hpp"
#include "msa/search.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/ranking.hpp"
#include "pipelines/predict/target_id.hpp"
#include "pipelines/predict/template_search.hpp"

namespace kfold::pipelines {

// What every output of a random-weight run says (log, structure headers, result attribute, file).
inline constexpr const char* kRandomWeightsWarning =
    "WARNING: random weights, not a prediction (kfold predict --random-weights: a demo of the pipeline)";

// Which models' structures `kfold predict --relax` relaxes (fold/violation_relax.hpp), as AlphaFold's
// --models_to_relax: none, the top-ranked one, or all.
enum class RelaxModels { none, best, all };

struct PredictOptions {
  // Input: a FASTA with one sequence plus MSAs (--msa) or a database to search (--db); or
  // AlphaFold-processed features (--features, with the leading recycling axis) instead of all three.
  std::filesystem::path query;
  std::vector<std::filesystem::path> msas;
  std::filesystem::path db;
  msa::SearchOptions search;  // of the --db search (threads: torch's thread count)
  std::filesystem::path features;
  std::filesystem::path output_dir;  // files go to output_dir/<target id>/
  // Templates: searched when templates.db is set (needs templates.featurizer.mmcif_dir); used by the
  // presets with templates (model_1, model_2), ignored by the others as AlphaFold does.
  TemplateSearchOptions templates;

  // Model: presets to run; parameters from `params` (a directory of params_<model>.npz or one file),
  // else $KFOLD_PARAMS, else ./data/params/; `random_weights` runs deterministic random weights
  // instead (a demo: every output says it is not a prediction).
  std::vector<std::string> models;
  std::filesystem::path params;
  bool random_weights = false;
  std::filesystem::path config;     // JSON overrides applied to every preset
  std::optional<int64_t> recycles;  // overrides model.num_recycle and data.common.num_recycle
  int64_t seed = 0;                 // the input pipeline's seed (and the random weights')
  RankBy rank_by = RankBy::plddt;
  RelaxModels relax = RelaxModels::none;
  fold::RunOptions run;
  bool check_memory = true;
};

struct ModelResult {
  std::string model_name;
  double mean_plddt = 0;
  double ptm = -1;  // -1 without an aligned-error head
  double seconds = 0;
  int64_t peak_gpu_bytes = -1;         // on a CUDA device: torch's allocator peak during the model's run; else -1
  int64_t num_residue_violations = 0;  // residues with a structural violation (violations.json)
};

struct PredictSummary {
  std::string target_id;
  std::filesystem::path target_dir;
  int64_t n_res = 0;
  int64_t msa_depth = 0;             // rows of the raw MSA (query included); 0 with --features
  std::vector<ModelResult> models;   // in run order
  std::vector<std::string> ranking;  // model names, best first
};

// The parameter file of `model` under `options` (see PredictOptions); InputError naming every place
// looked at, with the fix, when there is none.
std::filesystem::path find_params(const std::string& model, const PredictOptions& options);

// The selected models of `options`, each loaded on first use and kept for every later target (one
// load per process in `kfold batch`). The constructor checks every preset, config and parameter file
// (InputError) without loading anything.
class ModelSet {
 public:
  explicit ModelSet(const PredictOptions& options);
  ~ModelSet();  // stops the parameter files' hashing (a run that fails or is stopped does not wait for it)
  ModelSet(const ModelSet&) = delete;
  ModelSet& operator=(const ModelSet&) = delete;
  const std::vector<std::string>& names() const { return names_; }
  const LoadedModel& get(const std::string& name);
  // The parameter file of `name` (empty with random weights) and its SHA-256 for run.json ("" when it cannot be
  // read): hashed once, on a thread of its own started with the set, while the models run.
  std::filesystem::path params_file(const std::string& name) const;
  std::string params_sha256(const std::string& name) const;

 private:
  PredictOptions options_;
  std::vector<std::string> names_;
  std::map<std::string, std::filesystem::path> params_;
  std::shared_ptr<std::atomic<bool>> stop_hashing_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_future<std::map<std::string, std::string>> params_sha256_;
  std::map<std::string, std::unique_ptr<LoadedModel>> loaded_;
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

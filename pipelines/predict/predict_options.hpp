// The options of `kfold predict` (and of a batch's predict stage): inputs, models, parameters, ranking,
// relaxation and the run's device options.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fold/run_options.hpp"
#include "msa/search.hpp"
#include "pipelines/predict/random_weights_warning.hpp"
#include "pipelines/predict/ranking.hpp"
#include "pipelines/predict/template_search.hpp"

namespace kfold::pipelines {

// Which models' structures `kfold predict --relax` relaxes (fold/violation_relax.hpp), as AlphaFold's
// --models_to_relax: none, the top-ranked one, or all.
enum class RelaxModels { none, best, all };

struct PredictOptions {
  // Input: a FASTA with one sequence plus MSAs (--msa) or a database to search (--db); or
  // features (--features: kfold's features.h5, or AlphaFold-processed ones with the leading recycling axis)
  // instead of all three.
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
  RankBy rank_by = RankBy::automatic;
  RelaxModels relax = RelaxModels::none;
  fold::RunOptions run;
  bool check_memory = true;
};

}  // namespace kfold::pipelines

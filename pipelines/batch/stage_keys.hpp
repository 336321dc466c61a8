// The keys of `kfold batch`'s two stages: everything the MSA stage's and the predict stage's outputs depend on,
// hashed (StageKey) and kept in status.json, so that a rerun skips a stage whose key is unchanged.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipelines/batch/batch_run.hpp"
#include "pipelines/batch/batch_targets.hpp"

namespace kfold::pipelines {

// A target's template features from its MSA stage (the template search runs there, on CPU nodes).
inline constexpr const char* kTemplatesFile = "templates.h5";

// The MSA stage of `target`: its sequence, its MSA in --msa-dir or the database's identity and the search options,
// and the template search's inputs.
std::string msa_stage_key(const BatchOptions& options, const BatchTarget& target);
// Its MSA part alone (the sequence and its given MSA or the database and search options; no template option): an
// MSA stage whose search key is unchanged reuses the earlier stage's searched MSA.
std::string msa_search_key(const BatchOptions& options, const BatchTarget& target);

// The models' part of the predict key: names, parameter files (or the random weights' seed), config, recycles,
// seed, ranking, dtype, relax. `models` are the names ModelSet resolved.
std::string models_stage_key(const BatchOptions& options, const std::vector<std::string>& models);

// The predict stage of a target in `dir`: the MSA stage's key and files (`msa_status`, status.json's "msa"), the
// models' key, and the metric --rank auto (`rank_by`) picks for the target (its "chains", models with or without
// an aligned-error head: `models_have_pae`).
std::string predict_stage_key(const std::string& msa_key, const std::string& models_key,
                              const std::filesystem::path& dir, const nlohmann::json& msa_status, RankBy rank_by,
                              bool models_have_pae);

}  // namespace kfold::pipelines

// DIR/<target>/run.json: what produced a target folder's files (kfold's version and revision, the command
// line, the inputs with their SHA-256, each model's parameter file or random weights, its config and pipeline
// seed, the run options), so that a structure can be tied to its inputs and rerun months later.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "pipelines/predict/predict_target.hpp"

namespace kfold::pipelines {

// run.json's "inputs": the files `options` names (query, --msa files, --features, --config), each with the SHA-256
// of its bytes now, and the --db search and template options, as JSON text. A run takes it when it starts, so that
// an input changed or removed while it runs is recorded as it was read; a file that cannot be hashed (gone, a pipe)
// has "sha256": null and never fails the run.
std::string run_inputs_json(const PredictOptions& options);

// Written when every other output is (and removed with `done` when a rerun starts), so it describes a complete
// run. `summary` gives the models in run order; `folder_inputs` names the input files the folder keeps for it
// (features.h5, msas/..., a batch's query.fasta), hashed as they are now.
void write_run_json(const std::filesystem::path& path, const PredictOptions& options, const std::string& inputs_json,
                    const PredictSummary& summary, ModelSet& models, const std::set<std::string>& folder_inputs);

}  // namespace kfold::pipelines

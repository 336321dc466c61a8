// The agent's StructureOracle (pipelines/agent/structure_oracle.hpp) backed by a loaded AlphaFold model:
// each variant is predicted with the family MSA whose query row carries the variant's residues (the
// rest of the alignment is the wild type's, as ColabFold does for point mutants).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/structure_oracle.hpp"
#include "pipelines/predict/loaded_model.hpp"

namespace kfold::pipelines {

class ModelStructureOracle : public agent::StructureOracle {
 public:
  // `msa`: the wild type's MSA (row 0 the wild-type sequence); nullopt runs single-sequence.
  ModelStructureOracle(const LoadedModel& model, std::optional<data::Msa> msa, int64_t seed);

  // Substitutions only (the sequence has the MSA's query length). Throws InputError otherwise.
  agent::StructurePrediction predict(const std::string& sequence) override;
  // A construct: the MSA's columns offset .. offset + size - 1 (rows left with no residue dropped).
  agent::StructurePrediction predict_fragment(const std::string& sequence, int64_t offset) override;

  int64_t predictions() const { return predictions_; }

 private:
  agent::StructurePrediction predict_with(const std::string& sequence, std::vector<data::Msa> msas);

  const LoadedModel& model_;
  std::optional<data::Msa> msa_;
  int64_t seed_;
  int64_t predictions_ = 0;
};

// The campaign's family alignment as the wild type's MSA of the oracle; nullopt, with a warning, when
// its first row is not the target sequence (structures are then predicted single-sequence).
std::optional<data::Msa> campaign_wild_type_msa(const agent::Campaign& campaign);

}  // namespace kfold::pipelines

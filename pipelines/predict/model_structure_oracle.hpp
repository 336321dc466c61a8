// The agent's StructureOracle (pipelines/agent/structure_oracle.hpp) backed by a loaded AlphaFold model:
// each variant is predicted with the family MSA whose query row carries the variant's residues (the
// rest of the alignment is the wild type's, as ColabFold does for point mutants).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "fold/complex_features.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/structure_oracle.hpp"
#include "pipelines/predict/loaded_model.hpp"

namespace kfold::pipelines {

class ModelStructureOracle : public agent::StructureOracle {
 public:
  // `msa`: the wild type's MSA (row 0 the wild-type sequence); nullopt runs single-sequence.
  // `partner`: a second chain predicted with every variant (fold/complex_features.hpp: residue-index
  // gap, unpaired MSA: the partner's own MSA, or none); the predictions are then complexes.
  // `first_residue`: the campaign's number of the target's first residue; the PDB texts number chain A
  // from it (a construct from its own first residue), the partner (chain B) from 1. `wild_type`: the
  // target's sequence; a partner equal to it is a copy of the target (a homo-oligomer): it carries each
  // variant and construct too (agent::partner_chain_sequence), the target's MSA and its numbering.
  ModelStructureOracle(const LoadedModel& model, std::optional<data::Msa> msa, int64_t seed,
                       std::optional<fold::ChainInput> partner = std::nullopt, int64_t first_residue = 1,
                       std::string wild_type = {});

  // Substitutions only (the sequence has the MSA's query length). Throws InputError otherwise. With a
  // partner: the complex, chain A the variant, chain B the partner (chain_break = the variant's length),
  // the variant too when the partner is a copy of the wild type.
  agent::StructurePrediction predict(const std::string& sequence) override;
  // A construct: the MSA's columns offset .. offset + size - 1 (rows left with no residue dropped).
  agent::StructurePrediction predict_fragment(const std::string& sequence, int64_t offset) override;
  void family_alignment_found(const std::filesystem::path& a3m, const std::string& target_sequence) override;
  std::string description() const override;
  bool random_weights() const override { return model_.random_weights(); }

  int64_t predictions() const { return predictions_; }
  // Called after every recycling iteration of a prediction (it throws to stop it): Python's cancel token, so
  // that Ctrl-C stops a round within one iteration, not at the end of the prediction.
  void set_cancellation_check(std::function<void()> check) { check_cancelled_ = std::move(check); }

 private:
  agent::StructurePrediction predict_with(const std::string& sequence, std::vector<data::Msa> msas, bool complex,
                                          int64_t first_number);

  const LoadedModel& model_;
  std::optional<data::Msa> msa_;
  int64_t seed_;
  std::optional<fold::ChainInput> partner_;
  int64_t first_residue_ = 1;
  std::string wild_type_;
  int64_t predictions_ = 0;
  std::function<void()> check_cancelled_;
};

// The family alignment `a3m` as the wild type's MSA of the oracle; nullopt, with a warning, when its
// first row is not `target_sequence` (structures are then predicted single-sequence).
std::optional<data::Msa> wild_type_msa(const std::filesystem::path& a3m, const std::string& target_sequence);

// The oracle of a campaign: its family alignment (or, for a "db" campaign, the one run_agent searches:
// family_alignment_found), its partner chain when given.
std::unique_ptr<ModelStructureOracle> campaign_structure_oracle(const LoadedModel& model,
                                                                const agent::Campaign& campaign, int64_t seed);

}  // namespace kfold::pipelines

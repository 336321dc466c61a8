// The evolutionary evidence of a campaign: its family alignment mapped onto the target's numbering,
// sequence weights, the site-independent model and (when fitted) the Potts model, and the scores of
// variants under each. Which model feeds the stability/fitness term: the campaign's evolution.model;
// "auto" uses the Potts model when the alignment is deep enough (Neff >= number of columns), else the
// site-independent one, whose per-column frequencies need far fewer sequences.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/family_alignment.hpp"
#include "pipelines/agent/potts_model.hpp"
#include "pipelines/agent/sequence_weights.hpp"
#include "pipelines/agent/site_independent_model.hpp"

namespace kfold::pipelines::agent {

struct EvolutionOptions {
  bool fit_potts = true;  // false: --no-potts (site-independent only)
  int threads = 0;
  // --evolution-cache DIR: weights and Potts parameters reused when the alignment (by SHA-256) and the
  // options match; empty: no cache.
  std::filesystem::path cache_dir;
  // Called after each iteration of the Potts fit; it throws to stop the run (Python's Ctrl-C).
  std::function<void()> check_cancelled;
};

struct EvolutionaryModels {
  FamilyAlignment alignment;
  SequenceWeights weights;
  SiteIndependentModel site_independent;
  std::optional<PottsModel> potts;
  double potts_seconds = 0.0;
  bool stability_from_potts = false;      // which model the stability/fitness term uses
  bool from_cache = false;                // weights (and Potts model) read from --evolution-cache
  std::string model_note;                 // one line: which model and why
  std::vector<int64_t> column_of_index;   // per target index (0-based): alignment column or -1
  std::vector<uint8_t> wild_type_states;  // target residues at the columns [n_col]

  // Sum over substitutions of log f(mut) - log f(wt); NaN when a substitution is not on a column.
  double site_independent_score(const Variant& variant, int64_t first_residue) const;
  // Hamiltonian change against the wild type; NaN without a Potts model or off the columns.
  double potts_score(const Variant& variant, int64_t first_residue) const;
  // Whether the family holds every mutant residue of `variant` at its column (weighted frequency above 0
  // without the pseudocount); false off the columns.
  bool family_holds(const Variant& variant, int64_t first_residue) const;
  // Weighted frequency of the wild-type residue per target index; NaN off the columns.
  std::vector<double> wild_type_conservation() const;
};

// Reads target.msa, maps it to the target (the focus's residue numbers against target.first_residue;
// when they disagree, the focus residues are looked up in the target sequence), fits the models. Throws
// InputError when the focus is not the target.
EvolutionaryModels build_evolutionary_models(const Campaign& campaign, const EvolutionOptions& options);

}  // namespace kfold::pipelines::agent

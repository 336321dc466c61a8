// The text of the files `kfold agent` writes into its output folder (agent_run.cpp writes each atomically):
// scores.tsv (every evaluated variant), plate.csv (the plate), constructs.tsv (the construct wells),
// notebook.jsonl (append-only record of every run: inputs, hypotheses, scores, decisions, LLM calls) and
// report.md (for people).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/llm_operator.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/scoring.hpp"

namespace kfold::pipelines::agent {

// What report.md and report.html say first when the structure terms came from random weights.
inline constexpr const char* kRandomStructureWeightsWarning =
    "WARNING: the structure terms come from random weights (--random-weights: a pipeline demo); they measure "
    "nothing, and the plate they helped pick is not a design.";

struct RunRecord {
  uint64_t seed = 0;
  int threads = 0;
  bool no_potts = false;
  std::map<std::string, std::string> input_hashes;  // file -> sha256
  std::string structure_model;                      // StructureOracle::description(); empty: no oracle
  bool random_structure_weights = false;            // the oracle's predictions are of random weights (a demo)
  std::vector<LlmCallRecord> llm_calls;             // the optional LLM operator's calls (KFOLD_LLM_URL)
};

// Tab-separated, header first: id, mutations, operator, n_mutations, site_independent, potts, one column
// per objective term (stability/fitness: the evolutionary term; solubility; binding: binding_score of predicted
// complexes; others NA: not computed), total, sd, surrogate_mean, surrogate_sd (predictive),
// surrogate_ensemble_sd (the ensemble's spread), acquisition (NA without measured results), flags,
// hard_filtered, measured, the structure terms delta_plddt_site, ca_drmsd, delta_ptm, burial_site,
// lost_contacts, gained_contacts, new_clashes, new_violations, delta_interface_pae, lost_interface_contacts,
// delta_iptm (complexes), structure_confidence, structure_adjustment (NA unless predicted), rationale. NA for
// missing values.
std::string scores_tsv(const ScoreTable& table, const Campaign& campaign);

// CSV (RFC 4180 quoting), one line per used well in well order (A01, A02, ...): well, id, mutations,
// sequence, score, sd, rank, operator, flags, rationale (starting "explore: " for the explore quota's
// picks). Control wells: id WT, mutations WT, operator control. Blank wells: id BLANK, mutations blank, no
// sequence, operator blank. Construct wells: id C01.., mutations "construct FIRST-LAST", the fragment's
// sequence, operator trim_termini or domain_split.
std::string plate_csv(const Plate& plate, const ScoreTable& table, const Campaign& campaign);

// Tab-separated, one line per construct proposal: id, construct, operator, first, last, length, well (NA
// when not on the plate), wild_type_plddt, predicted_plddt, predicted_ptm, interface_pae (NA unless
// predicted on its own; interface_pae with a partner only), sequence, rationale.
std::string constructs_tsv(const ScoreTable& table, const Plate& plate, const Campaign& campaign);
// The wells of one kind ("control" or "blank"), in well order.
std::vector<std::string> reference_wells(const Plate& plate, const std::string& pick);
// The plate's counts and its control and blank wells, one sentence for report.md and report.html.
std::string plate_summary(const Plate& plate, const Campaign& campaign);
// The well of each construct proposal ("" when not on the plate).
std::vector<std::string> construct_wells(const ScoreTable& table, const Plate& plate);

// New notebook lines for this run (the caller appends them): one "run" record, one "llm" record per call
// of the LLM operator (none without KFOLD_LLM_URL), then one record per hypothesis with its scores and
// decision.
std::string notebook_lines(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                           const EvolutionaryModels& models, const RunRecord& run, int64_t round);

// "plate:<well>", "filtered", "measured", "no_evidence" or "not_selected" per table row.
std::vector<std::string> row_decisions(const ScoreTable& table, const Plate& plate);
// Rows of the table with a measured value (replicates and wild-type controls are not rows).
int64_t measured_rows(const ScoreTable& table);
// report.md's and report.html's "computed by" of an objective term.
std::string objective_term_note(const std::string& term, const ScoreTable& table, const EvolutionaryModels& models);
// Number formatting of the output files: `decimals` decimals, "NA" for NaN; scientific notation from 1e15 on.
std::string format_number(double v, int decimals = 6);
// The decimals the campaign's numbers need: `base`, or as many as give its median measured magnitude four
// significant digits when that is below 1e-3 (a Kd in molar).
int output_decimals(const Campaign& campaign, int base = 6);

// With LLM calls, an Evidence line about them and, when the critic flagged plate variants, a "Critic notes
// (LLM)" section; without, the same text as before the LLM operator existed.
std::string report_md(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                      const EvolutionaryModels& models, const RunRecord& run);

}  // namespace kfold::pipelines::agent

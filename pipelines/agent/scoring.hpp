// The scoring table: every hypothesis with its score components, total, uncertainty and liability flags.
//
// Components: `site_independent` and `potts` (evolutionary, higher = more like the family); the
// stability/fitness term is the one chosen by EvolutionaryModels (Potts or site-independent); solubility
// (solubility_score.hpp). Terms of the objective this version cannot compute (binding, expression,
// activity) are reported as not computed and weigh nothing. total = sum over computed terms of weight x
// z-score (z over every variant with a value), so terms in different units can be weighed. sd: the disagreement
// of the two evolutionary models, |z_potts - z_site_independent| / 2 x the evolutionary weight (NaN unless the
// stability term trusts the Potts model) - not a calibrated uncertainty, until the surrogate of later rounds.
//
// With measured results (apply_surrogate): a bootstrap ridge ensemble (surrogate_model.hpp) learns the
// measured value from one-hot and evolutionary features; then total = the ensemble mean (predicted
// measured value), sd = its predictive sd (the ensemble's spread and the leave-one-out residual sd in
// quadrature: how far a new measurement may fall from the total), and `acquisition` (UCB on the
// ensemble's spread alone, or Thompson) ranks the plate. The zero-shot total stays in `zero_shot`.
//
// Structure terms: optional, from a StructureOracle (structure_oracle.hpp) for shortlisted variants;
// add_structure_terms folds them into the total with the stability weight, on fixed scales (not
// z-scores over the few predicted variants, which would turn noise into full penalties), weighed by the
// confidence of the predictions (structure_confidence) and centred on the mean over the predicted
// shortlist, so that a variant not predicted (adjustment 0) stands where a predicted one stands in
// expectation: predicting a variant is no penalty in itself.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/construct_boundaries.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/hypothesis.hpp"
#include "pipelines/agent/liability_filters.hpp"
#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

// Smallest Neff at which a residue conserved in >= 95% of the (weighted) family is flagged
// "invariant_position".
inline constexpr double kMinNeffForConservation = 10.0;

struct ScoredVariant {
  const Hypothesis* hypothesis = nullptr;
  double site_independent = 0.0;  // NaN when not computable
  double potts = 0.0;             // NaN without a Potts model
  double evolutionary = 0.0;      // the term used for stability/fitness
  // The evolutionary term minus its site terms (site_decomposition.hpp): how the mutant residue compares
  // with the other residues at its site. NaN off the alignment's columns.
  double residue_term = 0.0;
  // The zero-shot total with the evolutionary term's residue term in its place: what the explore quota
  // ranks by (the best residues at sites nobody has measured, tolerant or not).
  double explore_key = 0.0;
  // Every mutant residue occurs at its column in the family: only such variants are explored (at a fully
  // conserved site every residue term is the same, and the family prefers none of them).
  bool family_holds = false;
  double solubility = 0.0;  // solubility_score.hpp (exposure-weighted with a predicted wild type)
  double total = 0.0;       // NaN when the evolutionary term is NaN
  double sd = 0.0;
  double zero_shot = 0.0;  // the total before learning from results
  double surrogate_mean = std::numeric_limits<double>::quiet_NaN();
  // The surrogate's predictive sd of a new measurement (the ensemble's spread and the leave-one-out
  // residual sd in quadrature; what `sd` shows) and the ensemble's spread alone (what UCB adds).
  double surrogate_sd = std::numeric_limits<double>::quiet_NaN();
  double surrogate_ensemble_sd = std::numeric_limits<double>::quiet_NaN();
  double acquisition = std::numeric_limits<double>::quiet_NaN();
  std::optional<StructureTerms> structure;  // when a structure oracle scored this variant
  double structure_adjustment = 0.0;        // what the structure terms added to total (add_structure_terms, centred)
  std::vector<LiabilityFlag> flags;
  std::optional<Measurement> measured;  // already measured in a results file
  std::string rationale;                // one line from the top contributing facts
};

// What the surrogate learned (report, notebook, calibration plot).
struct SurrogateSummary {
  int64_t n_train = 0;
  int64_t members = 0;
  int64_t n_features = 0;
  double lambda = 0.0;
  std::string acquisition;  // "ucb" or "thompson"
  double beta = 0.0;
  std::vector<std::string> train_variants;  // measured variants, in campaign order
  std::vector<double> measured;             // their values (higher is better: lower_is_better ones negated)
  // Tukey's lower fence of `measured` (lower_tukey_fence); the fit reads a value below it as the fence.
  double lower_fence = 0.0;
  int64_t at_lower_fence = 0;  // the measurements below the fence
  std::vector<double> fitted;  // `measured` as the fit reads them
  bool lower_is_better = false;
  std::vector<double> loo_predicted;  // leave-one-out predictions of them
  double loo_spearman = 0.0;          // with `measured`
  double loo_rmse = 0.0;              // from `fitted`
  // The evolutionary score's Spearman with the same measurements (of those among the scored variants): what
  // the surrogate's leave-one-out Spearman is to beat; NaN with fewer than 3 such variants.
  double evolutionary_spearman = std::numeric_limits<double>::quiet_NaN();
  int64_t evolutionary_n = 0;
  // Below this leave-one-out Spearman the surrogate is said to have no skill yet (log and report).
  static constexpr double kMinSkill = 0.1;
  bool has_skill() const { return loo_spearman >= kMinSkill; }
};

// "N far below the rest fitted at Tukey's lower fence, F" when the surrogate fitted any there, else "".
std::string at_fence_text(const SurrogateSummary& summary);

struct ScoreTable {
  std::vector<ScoredVariant> rows;   // in hypothesis order
  double evolutionary_weight = 0.0;  // sum of the objective weights fed by the evolutionary term
  double solubility_weight = 0.0;    // the objective's solubility weight
  double binding_weight = 0.0;       // the objective's binding weight (structure terms of complexes)
  // The weight of the structure terms, stability proxies: the evolutionary weight as the total uses it
  // (1 when no computable term is weighted); 0 for an objective without stability (solubility or binding
  // only).
  double structure_weight = 0.0;
  std::vector<std::string> not_computed;  // objective terms with weight > 0 that this version cannot compute
  std::optional<SurrogateSummary> surrogate;
  std::string no_surrogate_reason;  // why enough measurements fitted no surrogate (all equal); "" otherwise
  std::vector<std::vector<double>> member_predictions;  // [members][rows]: Thompson sampling's draws
  bool structure_terms = false;                         // some rows carry structure terms
  // No weighted term is computed for every variant (binding alone, or terms this version lacks): the evolutionary
  // term ranks them with weight 1.
  bool evolutionary_fallback = false;
  // The predicted wild-type complex (a partner chain): its interface, the binding term's reference.
  double wild_type_interface_pae = std::numeric_limits<double>::quiet_NaN();  // Å, NaN without a PAE head
  int64_t wild_type_interface_contacts = -1;                                  // -1: no complex predicted
  double wild_type_iptm = std::numeric_limits<double>::quiet_NaN();
  // Construct proposals (wild-type fragments; with a predicted wild type), not scored like the variants.
  std::vector<Construct> constructs;
};

// Cheap terms and liability flags of every hypothesis. With the predicted wild type, the liability
// rules also use its helices and Cys geometry (LiabilityContext); without it they are sequence-only.
// `log_context`: log the facts that shape the scores (Neff too low for the invariant-position filter, the
// predicted wild type's helices, no computable objective term); false for a preliminary scoring.
ScoreTable score_hypotheses(const std::vector<Hypothesis>& hypotheses, const Campaign& campaign,
                            const EvolutionaryModels& models, const StructurePrediction* wild_type = nullptr,
                            bool log_context = true);

// Fits the surrogate to campaign.measurements (when there are at least surrogate.min_measurements) and
// replaces total/sd by its mean/predictive sd, fills acquisition; returns false (table unchanged) otherwise.
bool apply_surrogate(ScoreTable& table, const Campaign& campaign, const EvolutionaryModels& models, uint64_t seed,
                     int threads);

// The stability proxies of one prediction on fixed scales, higher = better: the mean of ΔpLDDT near the
// sites / 5, -Cα dRMSD / 0.5 Å, ΔpTM / 0.02 and the net change of site contacts (gained - lost) / 3,
// each after a dead zone (|ΔpLDDT| 1, dRMSD 0.1 Å, |ΔpTM| 0.005, 1 contact) that keeps the model's noise
// between near-identical inputs out. NaN terms (no pTM head) are left out. binding_score: -(interface
// ΔPAE beyond 0.25 Å) / 1 Å, or without a PAE head -lost interface contacts / 2; NaN without a partner
// chain.
double structure_score(const StructureTerms& t);
double binding_score(const StructureTerms& t);

// How far the structure terms of a comparison are trusted, in [0, 1]: 0 up to a mean pLDDT of
// kUntrustedPlddt, 1 from kTrustedPlddt, linear between (a quarter at 50), of the more confident of
// the two predictions (the wild type's and the mutant's, target chain; a mutant that unfolds a confident
// wild type keeps its full weight). 1 when neither has a pLDDT.
inline constexpr double kUntrustedPlddt = 40.0;
inline constexpr double kTrustedPlddt = 80.0;
double structure_confidence(const StructureTerms& t);
double confidence_plddt(const StructureTerms& t);  // the mean pLDDT structure_confidence reads (NaN: none)

// The weight the surrogate's predicted measurement counts with in the total: the objective's stability/fitness
// weight (what the assay measures), 1 when it has none. Other terms (solubility, structure) are added with
// their weight over this one, so scaling every weight together leaves the ranking as it is.
double measured_weight(const ScoreTable& table);

// Adds structure terms (per row; rows without terms are unchanged): structure_confidence x
// (structure_weight x structure_score + binding_weight x binding_score (complexes)), in the units of the
// total (as they are in a zero-shot round, times the sd of the surrogate means over the candidates with
// a surrogate), less the mean of that amount over the rows with terms (one predicted row alone thus gets
// 0: nothing to compare it with); with a surrogate the acquisition and the ensemble members' predictions
// (Thompson draws) move by the same amount. New Cα
// clashes add a soft "predicted_clash" flag, more residues failing AlphaFold's structural violation
// checks a soft "structural_violations" flag; with complex predictions "binding" leaves not_computed.
void add_structure_terms(ScoreTable& table, const std::vector<std::optional<StructureTerms>>& terms);

// Mean and sample standard deviation of the finite values (mean 0 when there is none; sd 1 when there
// are fewer than two or all are equal): the z-scores of the scoring table and the report's plots.
struct Moments {
  double mean = 0.0;
  double sd = 1.0;
};
Moments finite_moments(const std::vector<double>& values);

}  // namespace kfold::pipelines::agent

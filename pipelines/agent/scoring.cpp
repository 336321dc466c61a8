// Score components, weighted totals, uncertainties, flags and one-line rationales of hypotheses.
#include "pipelines/agent/scoring.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "data/error.hpp"
#include "data/log.hpp"
#include "pipelines/agent/acquisition.hpp"
#include "pipelines/agent/site_decomposition.hpp"
#include "pipelines/agent/solubility_score.hpp"
#include "pipelines/agent/surrogate_model.hpp"
#include "pipelines/agent/wild_type_structure.hpp"

namespace kfold::pipelines::agent {

namespace {

Moments moments(const std::vector<ScoredVariant>& rows, double ScoredVariant::*field) {
  std::vector<double> values;
  for (const auto& r : rows) values.push_back(r.*field);
  return finite_moments(values);
}

}  // namespace

Moments finite_moments(const std::vector<double>& values) {
  double sum = 0.0;
  double n = 0.0;
  for (const double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      n += 1.0;
    }
  }
  Moments m;
  if (n < 1.0) return m;
  m.mean = sum / n;
  double ss = 0.0;
  for (const double v : values) {
    if (std::isfinite(v)) ss += (v - m.mean) * (v - m.mean);
  }
  if (n >= 2.0 && ss > 0.0) m.sd = std::sqrt(ss / (n - 1.0));
  return m;
}

ScoreTable score_hypotheses(const std::vector<Hypothesis>& hypotheses, const Campaign& campaign,
                            const EvolutionaryModels& models, const StructurePrediction* wild_type, bool log_context) {
  ScoreTable table;
  for (const auto& [term, weight] : campaign.objective) {
    if (term == "stability" || term == "fitness") {
      table.evolutionary_weight += weight;
    } else if (term == "solubility") {
      table.solubility_weight = weight;
    } else if (term == "binding" && weight > 0.0) {
      table.binding_weight = weight;
      table.not_computed.push_back(term);  // until complexes are predicted (add_structure_terms)
    } else if (weight > 0.0) {
      table.not_computed.push_back(term);
    }
  }
  // What the evolutionary term stands for in the rationales: the objective's terms it scores.
  std::string evolutionary_for;
  for (const auto& [term, weight] : campaign.objective)
    if ((term == "stability" || term == "fitness") && weight > 0.0)
      evolutionary_for += (evolutionary_for.empty() ? "" : " and ") + term;
  double evo_weight = table.evolutionary_weight;
  if (evo_weight <= 0.0 && table.solubility_weight <= 0.0) {
    if (log_context) {
      log_warn(
          "agent: no objective term computed for every variant (stability, fitness, solubility) has a weight > 0{}; "
          "ranking by the evolutionary term with weight 1",
          table.binding_weight > 0.0 ? " (binding is computed for the predicted shortlist alone)" : "");
    }
    evo_weight = 1.0;
    table.evolutionary_fallback = true;
  }
  if (evolutionary_for.empty()) evolutionary_for = evo_weight > 0.0 ? "the ranking" : "reference (weight 0)";
  // The structure's stability terms count with the evolutionary weight, the fallback's too, except where the
  // objective weighs binding alone: it weighs no stability.
  table.structure_weight = table.evolutionary_weight <= 0.0 && table.binding_weight > 0.0 ? 0.0 : evo_weight;
  // Replicates of a variant: their mean (as the beneficial-combination operator and the surrogate read
  // them), the sources listed.
  std::map<std::string, Measurement> measured;
  for (Measurement& mean : replicate_means(campaign.measurements))
    measured.emplace(format_variant(mean.variant), std::move(mean));

  LiabilityContext lc;
  lc.wild_type = campaign.target.sequence;
  lc.first_residue = campaign.target.first_residue;
  // Conservation means little in a shallow family: judged only with Neff >= kMinNeffForConservation.
  if (models.weights.neff >= kMinNeffForConservation) {
    lc.wild_type_conservation = models.wild_type_conservation();
  } else if (log_context) {
    log_info("agent: Neff {:.1f} < {}: no invariant-position filter", models.weights.neff, kMinNeffForConservation);
  }

  if (wild_type != nullptr) {
    const WildTypeStructure w = analyse_wild_type(*wild_type, campaign.target.sequence.size());
    lc.helix = w.helix;
    lc.ca = w.ca;
    lc.plddt = w.plddt;
    lc.exposure = w.exposure;  // also the solubility term's (empty: sequence only)
    if (log_context) {
      log_info("agent: liability rules and solubility with the predicted wild type: {} helix residues, {} exposed",
               std::count(lc.helix.begin(), lc.helix.end(), true),
               std::count_if(lc.exposure.begin(), lc.exposure.end(), [](double e) { return e >= 0.5; }));
    }
  }

  const int64_t first = campaign.target.first_residue;
  const SiteDecomposition sites(models, campaign.target.sequence, first);
  table.rows.reserve(hypotheses.size());
  for (const Hypothesis& h : hypotheses) {
    ScoredVariant r;
    r.hypothesis = &h;
    r.site_independent = models.site_independent_score(h.variant, first);
    r.potts = models.potts_score(h.variant, first);
    r.evolutionary = models.stability_from_potts ? r.potts : r.site_independent;
    const std::vector<double> parts = sites.features(h.variant);  // [si site, si residue, potts site, potts residue]
    r.residue_term = models.stability_from_potts ? parts[3] : parts[1];
    r.family_holds = models.family_holds(h.variant, first);
    r.solubility = solubility_score(h.variant, campaign.target.sequence, first, lc.exposure);
    r.flags = liability_flags(h.variant, lc);
    if (const auto it = measured.find(format_variant(h.variant)); it != measured.end()) r.measured = it->second;
    table.rows.push_back(std::move(r));
  }
  const Moments m_evo = moments(table.rows, &ScoredVariant::evolutionary);
  const Moments m_si = moments(table.rows, &ScoredVariant::site_independent);
  const Moments m_potts = moments(table.rows, &ScoredVariant::potts);
  const Moments m_sol = moments(table.rows, &ScoredVariant::solubility);
  const Moments m_residue = moments(table.rows, &ScoredVariant::residue_term);
  const double sol_weight = table.solubility_weight;
  const char* model = models.stability_from_potts ? "Potts dE" : "site-independent log-ratio";
  // A term of weight 0 is left out, so that its NaN (a residue off the alignment's columns) does not
  // make a solubility-only total NaN; a weighted term's NaN propagates (no evidence).
  const auto weighted = [](double weight, double z) { return weight > 0.0 ? weight * z : 0.0; };
  for (ScoredVariant& r : table.rows) {
    const double z = (r.evolutionary - m_evo.mean) / m_evo.sd;
    const double z_sol = (r.solubility - m_sol.mean) / m_sol.sd;
    r.total = weighted(evo_weight, z) + weighted(sol_weight, z_sol);
    r.zero_shot = r.total;
    r.explore_key =
        weighted(evo_weight, (r.residue_term - m_residue.mean) / m_residue.sd) + weighted(sol_weight, z_sol);
    const double z_si = (r.site_independent - m_si.mean) / m_si.sd;
    const double z_potts = (r.potts - m_potts.mean) / m_potts.sd;
    // Zero-shot sd: how far the two evolutionary models disagree (half their z difference), not a calibrated
    // uncertainty; none (NA) unless the Potts model is the one trusted (a shallow alignment's is noise).
    r.sd = evo_weight <= 0.0 ? 0.0
           : models.stability_from_potts && std::isfinite(z_si) && std::isfinite(z_potts)
               ? evo_weight * std::fabs(z_potts - z_si) / 2.0
               : std::numeric_limits<double>::quiet_NaN();
    std::string line;
    if (std::isfinite(r.evolutionary)) {
      line = fmt::format("{} {:+.2f} (z {:+.2f}) for {}", model, r.evolutionary, z, evolutionary_for);
    } else {
      line = "no evolutionary evidence (residue not an aligned column)";
    }
    if (sol_weight > 0.0) {
      line += fmt::format("; solubility {:+.2f} (z {:+.2f}{})", r.solubility, z_sol,
                          lc.exposure.empty() ? ", sequence only" : "");
    }
    for (const auto& fact : r.hypothesis->rationale) line += "; " + fact;
    if (!r.flags.empty()) line += "; flags: " + format_flags(r.flags);
    if (r.measured) line += fmt::format("; measured {} ({})", r.measured->value, r.measured->source);
    r.rationale = std::move(line);
  }
  return table;
}

double measured_weight(const ScoreTable& table) {
  return table.evolutionary_weight > 0.0 ? table.evolutionary_weight : 1.0;
}

std::string at_fence_text(const SurrogateSummary& summary) {
  if (summary.at_lower_fence == 0) return "";
  // (A lower_is_better campaign's values are negated inside: its worst lie above the rest, in its own units.)
  return summary.lower_is_better ? fmt::format("{} far above the rest (worse) fitted at Tukey's upper fence, {:.3g}",
                                               summary.at_lower_fence, -summary.lower_fence)
                                 : fmt::format("{} far below the rest fitted at Tukey's lower fence, {:.3g}",
                                               summary.at_lower_fence, summary.lower_fence);
}

bool apply_surrogate(ScoreTable& table, const Campaign& campaign, const EvolutionaryModels& models, uint64_t seed,
                     int threads) {
  const int64_t n_measured = measured_variant_count(campaign);
  if (n_measured < campaign.surrogate.min_measurements) {
    if (n_measured > 0) {
      log_info("agent: {} measured variant(s) < surrogate.min_measurements {}: zero-shot ranking", n_measured,
               campaign.surrogate.min_measurements);
    }
    return false;
  }
  const std::vector<Measurement> means = replicate_means(campaign.measurements);
  const auto [low, high] = std::minmax_element(
      means.begin(), means.end(), [](const Measurement& a, const Measurement& b) { return a.value < b.value; });
  if (low->value == high->value) {
    // Nothing tells the variants' effects apart: the ensemble predicted that value with sd 0 for every
    // candidate, and the plate's order was the table's. (A detection limit, or one value pasted down a column.)
    table.no_surrogate_reason = fmt::format("the {} measured variants all have the value {}", means.size(), low->value);
    log_warn("agent: {}: nothing to learn their effects from; zero-shot ranking (check the results files)",
             table.no_surrogate_reason);
    return false;
  }
  const SiteDecomposition sites(models, campaign.target.sequence, campaign.target.first_residue);
  auto dense = [&](const Variant& v) { return sites.features(v); };
  std::vector<SurrogateRow> rows;
  rows.reserve(table.rows.size());
  for (const ScoredVariant& r : table.rows) rows.push_back({r.hypothesis->variant, dense(r.hypothesis->variant)});
  std::vector<SurrogateRow> training;
  std::vector<double> values;
  std::vector<std::optional<double>> sds;
  SurrogateSummary summary;
  for (const Measurement& m : means) {
    training.push_back({m.variant, dense(m.variant)});
    values.push_back(m.value);
    sds.push_back(m.sd);
    summary.train_variants.push_back(format_variant(m.variant));
  }
  // Measurements are higher-is-better here (lower_is_better ones negated). How far below the rest a dead variant
  // lies says nothing of where the best variants are, yet its squared error set the fit: a value below Tukey's lower
  // fence is fitted at the fence (the upper tail, where the best variants are, is kept; the effect on
  // scripts/bench_campaign: README, The agent).
  summary.measured = values;
  summary.lower_is_better = campaign.lower_is_better;
  summary.lower_fence = lower_tukey_fence(values);
  for (double& v : values)
    if (v < summary.lower_fence) {
      v = summary.lower_fence;
      ++summary.at_lower_fence;
    }
  summary.fitted = values;
  SurrogateOptions so;
  so.members = campaign.surrogate.members;
  so.seed = seed;
  so.threads = threads;
  if (training.size() >= 500)  // a deep mutational scan's results: the fits take a while (cubic in the rows)
    log_info("agent: surrogate: fitting {} measurements ({} leave-one-out fits, {} bootstrap members)...",
             training.size(), so.lambdas.size() * so.position_scales.size(), so.members);
  const SurrogateModel model(std::move(training), values, rows, so, measurement_weights(sds));
  SurrogatePrediction p = model.predict(rows);
  // The surrogate predicts the measured value; the objective's solubility term (not measured) is added to
  // the total with its weight relative to the measured one (measured_weight), one z unit counted as the
  // spread (sd) of the predicted values.
  std::vector<double> solubility_shift(table.rows.size(), 0.0);
  if (table.solubility_weight > 0.0) {
    const Moments m_sol = moments(table.rows, &ScoredVariant::solubility);
    const double unit = finite_moments(p.mean).sd / measured_weight(table);
    for (size_t k = 0; k < table.rows.size(); ++k) {
      const double shift = table.solubility_weight * unit * (table.rows[k].solubility - m_sol.mean) / m_sol.sd;
      if (std::isfinite(shift)) solubility_shift[k] = shift;
    }
  }
  std::vector<double> objective_mean = p.mean;
  for (size_t k = 0; k < table.rows.size(); ++k) {
    objective_mean[k] += solubility_shift[k];
    for (auto& member : p.members) member[k] += solubility_shift[k];
  }
  // UCB reads the ensemble's spread (where the surrogate is unsure), not the predictive sd's constant
  // residual part.
  const std::vector<double> acq =
      acquisition_values(campaign.acquisition, objective_mean, p.ensemble_sd, p.members, seed);
  summary.n_train = model.n_train();
  summary.members = so.members;
  summary.n_features = model.n_features();
  summary.lambda = model.lambda();
  summary.acquisition = campaign.acquisition.type;
  summary.beta = campaign.acquisition.beta;
  summary.loo_predicted = model.loo_predictions();
  summary.loo_spearman = spearman(summary.loo_predicted, summary.measured);
  double sse = 0.0;
  for (size_t k = 0; k < values.size(); ++k) sse += std::pow(summary.loo_predicted[k] - values[k], 2);
  summary.loo_rmse = std::sqrt(sse / static_cast<double>(values.size()));
  {
    std::map<std::string, double> evolutionary;  // variant -> its evolutionary score
    for (const ScoredVariant& r : table.rows) evolutionary[format_variant(r.hypothesis->variant)] = r.evolutionary;
    std::vector<double> zero_shot, compared;
    for (size_t k = 0; k < means.size(); ++k)
      if (const auto it = evolutionary.find(summary.train_variants[k]);
          it != evolutionary.end() && std::isfinite(it->second)) {
        zero_shot.push_back(it->second);
        compared.push_back(summary.measured[k]);
      }
    summary.evolutionary_n = static_cast<int64_t>(zero_shot.size());
    if (zero_shot.size() >= 3) summary.evolutionary_spearman = spearman(zero_shot, compared);
  }
  // (A Thompson plate draws one ensemble member per pick: the `acquisition` value, the first draw's member, is
  // not the value that picked a variant, and its rationale gives none.)
  const bool ucb = campaign.acquisition.type == "ucb";
  const std::string acq_name =
      ucb ? fmt::format("UCB beta {}", campaign.acquisition.beta) : std::string("Thompson: one member per pick");
  for (size_t k = 0; k < table.rows.size(); ++k) {
    ScoredVariant& r = table.rows[k];
    r.surrogate_mean = p.mean[k];
    r.surrogate_sd = p.sd[k];
    r.surrogate_ensemble_sd = p.ensemble_sd[k];
    r.acquisition = acq[k];
    r.total = objective_mean[k];
    r.sd = r.surrogate_sd;
    const std::string solubility =
        table.solubility_weight > 0.0 ? fmt::format("; solubility {:+.3g} to the total", solubility_shift[k]) : "";
    r.rationale =
        fmt::format("surrogate {:+.3g} ± {:.2g} ({}{}; {} measurements{})", r.surrogate_mean, r.surrogate_sd, acq_name,
                    ucb ? fmt::format(" {:+.3g}", r.acquisition) : "", summary.n_train, solubility) +
        "; " + r.rationale;
  }
  table.member_predictions = std::move(p.members);
  log_info(
      "agent: surrogate: {} bootstrap ridge members on {} measurements{}, {} features, lambda {} (leave-one-out "
      "Spearman {:.3f}, RMSE {:.3g}; an unmeasured position's effect: sd {:.3g}); acquisition {}; sd: predictive "
      "(the ensemble's and the leave-one-out residual sd {:.3g} together)",
      summary.members, summary.n_train,
      summary.at_lower_fence == 0 ? std::string() : " (" + at_fence_text(summary) + ")", summary.n_features,
      summary.lambda, summary.loo_spearman, summary.loo_rmse, model.position_prior_sd(), acq_name,
      std::sqrt(model.residual_variance()));
  if (!summary.has_skill())
    log_warn(
        "agent: the surrogate has no predictive skill yet (leave-one-out Spearman {:.3f} on {} measurements; the "
        "evolutionary score's on {} of them: {:.3f}): its ranking is close to chance. Measure more variants, or "
        "raise surrogate.min_measurements to keep the zero-shot ranking meanwhile",
        summary.loo_spearman, summary.n_train, summary.evolutionary_n, summary.evolutionary_spearman);
  table.surrogate = std::move(summary);
  return true;
}

namespace {

// A structure term on its fixed scale: changes within the dead zone (what separates predictions of
// near-identical inputs) count 0, beyond it one `scale` counts 1, like one standard deviation of the
// evolutionary term in the zero-shot total.
struct TermScale {
  double dead_zone;
  double scale;
};
constexpr TermScale kPlddtScale{1.0, 5.0};             // pLDDT points near the sites
constexpr TermScale kDrmsdScale{0.1, 0.5};             // Å
constexpr TermScale kPtmScale{0.005, 0.02};            // pTM
constexpr TermScale kContactScale{1.0, 3.0};           // net site contacts (gained - lost)
constexpr TermScale kInterfacePaeScale{0.25, 1.0};     // Å of mean interface PAE
constexpr TermScale kInterfaceContactScale{0.0, 2.0};  // interface contacts

double on_scale(double value, TermScale s) {
  if (!std::isfinite(value)) return std::numeric_limits<double>::quiet_NaN();
  // + 0.0: inside the dead zone 0, not copysign's -0 (written "-0.000000" in scores.tsv).
  return std::copysign(std::max(0.0, std::fabs(value) - s.dead_zone) / s.scale, value) + 0.0;
}

}  // namespace

double structure_score(const StructureTerms& t) {
  double sum = 0.0;
  double n = 0.0;
  for (const double v :
       {on_scale(t.delta_plddt_site, kPlddtScale), on_scale(-t.ca_drmsd, kDrmsdScale), on_scale(t.delta_ptm, kPtmScale),
        on_scale(static_cast<double>(t.gained_contacts - t.lost_contacts), kContactScale)}) {
    if (std::isfinite(v)) {
      sum += v;
      n += 1.0;
    }
  }
  return n > 0.0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

double confidence_plddt(const StructureTerms& t) { return std::fmax(t.wild_type_plddt, t.mutant_plddt); }

double structure_confidence(const StructureTerms& t) {
  const double plddt = confidence_plddt(t);  // NaN only when both are
  if (!std::isfinite(plddt)) return 1.0;
  return std::clamp((plddt - kUntrustedPlddt) / (kTrustedPlddt - kUntrustedPlddt), 0.0, 1.0);
}

double binding_score(const StructureTerms& t) {
  if (!t.binding) return std::numeric_limits<double>::quiet_NaN();
  return std::isfinite(t.delta_interface_pae)
             ? on_scale(-t.delta_interface_pae, kInterfacePaeScale)
             : on_scale(-static_cast<double>(t.lost_interface_contacts), kInterfaceContactScale);
}

void add_structure_terms(ScoreTable& table, const std::vector<std::optional<StructureTerms>>& terms) {
  if (terms.size() != table.rows.size())
    fail_runtime("add_structure_terms: {} terms for {} rows", terms.size(), table.rows.size());
  // With a surrogate the total is a predicted measurement: one scale unit is then the spread (sd) of the
  // predicted values over the candidates, over the weight the measurement counts with (measured_weight).
  double unit = 1.0;
  if (table.surrogate) {
    std::vector<double> means;
    for (const ScoredVariant& r : table.rows) means.push_back(r.surrogate_mean);
    unit = finite_moments(means).sd / measured_weight(table);
  }
  // Raw adjustments: the weighted terms times the confidence of the comparison.
  std::vector<double> raw(terms.size(), 0.0);
  double raw_sum = 0.0;
  double n_raw = 0.0;
  for (size_t k = 0; k < terms.size(); ++k) {
    if (!terms[k]) continue;
    const StructureTerms& t = *terms[k];
    double adjustment = 0.0;
    const double stability = structure_score(t);
    if (std::isfinite(stability) && table.structure_weight > 0.0) adjustment += table.structure_weight * stability;
    const double binding = binding_score(t);
    if (std::isfinite(binding) && table.binding_weight > 0.0) adjustment += table.binding_weight * binding;
    raw[k] = adjustment * structure_confidence(t) * unit;
    raw_sum += raw[k];
    n_raw += 1.0;
  }
  // Centred on the predicted shortlist's mean: a variant not predicted keeps its total, which is thus the
  // expected adjustment of a predicted one, and predicting a variant is no penalty in expectation (the
  // terms' own offsets - a dRMSD is never negative, the model's noise moves pLDDT and contacts - cancel).
  const double centre = n_raw > 0.0 ? raw_sum / n_raw : 0.0;
  for (size_t k = 0; k < terms.size(); ++k) {
    if (!terms[k]) continue;
    const StructureTerms& t = *terms[k];
    ScoredVariant& r = table.rows[k];
    r.structure = t;
    const double adjustment = raw[k] - centre;
    r.structure_adjustment = adjustment;
    if (std::isfinite(r.total)) r.total += adjustment;
    if (table.surrogate) {
      // The plate ranks by the acquisition (or by the ensemble members' draws): they move with the total.
      if (std::isfinite(r.acquisition)) r.acquisition += adjustment;
      for (auto& member : table.member_predictions) member[k] += adjustment;
    }
    if (t.binding) {
      r.rationale +=
          std::isfinite(t.delta_interface_pae)
              ? fmt::format("; interface: ΔPAE {:+.2f} Å (binding {:+.2f}){}, {} contacts lost", t.delta_interface_pae,
                            binding_score(t),
                            std::isfinite(t.delta_iptm) ? fmt::format(", ΔipTM {:+.3f}", t.delta_iptm) : "",
                            t.lost_interface_contacts)
              : fmt::format("; interface (no PAE head: scored by contacts): {} contacts lost (binding {:+.2f})",
                            t.lost_interface_contacts, binding_score(t));
    }
    r.rationale += fmt::format(
        "; structure: ΔpLDDT near site {:+.1f}, Cα dRMSD {:.2f} Å, ΔpTM {}, burial {:.0f}, {} contacts lost, {} "
        "gained (confidence {:.2f}{}; {:+.2f} to the total: {:+.2f} less the shortlist's mean {:+.2f}{})",
        t.delta_plddt_site, t.ca_drmsd, std::isfinite(t.delta_ptm) ? fmt::format("{:+.3f}", t.delta_ptm) : "NA",
        t.burial_site, t.lost_contacts, t.gained_contacts, structure_confidence(t),
        std::isfinite(confidence_plddt(t)) ? fmt::format(" at mean pLDDT {:.0f}", confidence_plddt(t)) : "", adjustment,
        raw[k], centre, table.structure_weight > 0.0 ? "" : "; the objective weighs no stability");
    if (t.new_clashes > 0) {
      r.flags.push_back({"predicted_clash", false, fmt::format("{} new Cα pairs < 3 Å", t.new_clashes)});
      r.rationale += fmt::format("; {} new Cα clashes", t.new_clashes);
    }
    if (t.new_violations > 0) {
      r.flags.push_back({"structural_violations", false,
                         fmt::format("{} more residues fail AlphaFold's structural checks", t.new_violations)});
      r.rationale += fmt::format("; {} more residues with structural violations", t.new_violations);
    }
  }
  table.structure_terms = true;
  if (std::any_of(terms.begin(), terms.end(), [](const auto& t) { return t && t->binding; })) {
    std::erase(table.not_computed, std::string("binding"));
  }
}

}  // namespace kfold::pipelines::agent

// Score components, weighted totals, uncertainties, flags and one-line rationales of hypotheses.
#include "pipelines/agent/scoring.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "data/log.hpp"

namespace kfold::pipelines::agent {

namespace {

struct Moments {
  double mean = 0.0;
  double sd = 1.0;
};

// Mean and standard deviation over the finite values (sd 1 when fewer than two or all equal).
Moments moments(const std::vector<ScoredVariant>& rows, double ScoredVariant::*field) {
  double sum = 0.0;
  double n = 0.0;
  for (const auto& r : rows) {
    if (std::isfinite(r.*field)) {
      sum += r.*field;
      n += 1.0;
    }
  }
  Moments m;
  if (n < 1.0) return m;
  m.mean = sum / n;
  double ss = 0.0;
  for (const auto& r : rows) {
    if (std::isfinite(r.*field)) ss += (r.*field - m.mean) * (r.*field - m.mean);
  }
  if (n >= 2.0 && ss > 0.0) m.sd = std::sqrt(ss / (n - 1.0));
  return m;
}

}  // namespace

ScoreTable score_hypotheses(const std::vector<Hypothesis>& hypotheses, const Campaign& campaign,
                            const EvolutionaryModels& models) {
  ScoreTable table;
  for (const auto& [term, weight] : campaign.objective) {
    if (term == "stability" || term == "fitness") {
      table.evolutionary_weight += weight;
    } else if (weight > 0.0) {
      table.not_computed.push_back(term);
    }
  }
  double evo_weight = table.evolutionary_weight;
  if (evo_weight <= 0.0) {
    log_warn(
        "agent: no objective term this version computes (stability, fitness) has a weight > 0; ranking by the "
        "evolutionary term with weight 1");
    evo_weight = 1.0;
  }
  std::map<std::string, const Measurement*> measured;
  for (const auto& m : campaign.measurements) measured[format_variant(m.variant)] = &m;

  LiabilityContext lc;
  lc.wild_type = campaign.target.sequence;
  lc.first_residue = campaign.target.first_residue;
  // Conservation means little in a shallow family: judged only with Neff >= kMinNeffForConservation.
  if (models.weights.neff >= kMinNeffForConservation) {
    lc.wild_type_conservation = models.wild_type_conservation();
  } else {
    log_info("agent: Neff {:.1f} < {}: no invariant-position filter", models.weights.neff, kMinNeffForConservation);
  }

  const int64_t first = campaign.target.first_residue;
  table.rows.reserve(hypotheses.size());
  for (const Hypothesis& h : hypotheses) {
    ScoredVariant r;
    r.hypothesis = &h;
    r.site_independent = models.site_independent_score(h.variant, first);
    r.potts = models.potts_score(h.variant, first);
    r.evolutionary = models.stability_from_potts ? r.potts : r.site_independent;
    r.flags = liability_flags(h.variant, lc);
    if (const auto it = measured.find(format_variant(h.variant)); it != measured.end()) r.measured = *it->second;
    table.rows.push_back(std::move(r));
  }
  const Moments m_evo = moments(table.rows, &ScoredVariant::evolutionary);
  const Moments m_si = moments(table.rows, &ScoredVariant::site_independent);
  const Moments m_potts = moments(table.rows, &ScoredVariant::potts);
  const char* model = models.stability_from_potts ? "Potts dE" : "site-independent log-ratio";
  for (ScoredVariant& r : table.rows) {
    const double z = (r.evolutionary - m_evo.mean) / m_evo.sd;
    r.total = evo_weight * z;  // NaN propagates
    const double z_si = (r.site_independent - m_si.mean) / m_si.sd;
    const double z_potts = (r.potts - m_potts.mean) / m_potts.sd;
    r.sd = std::isfinite(z_si) && std::isfinite(z_potts) ? evo_weight * std::fabs(z_potts - z_si) / 2.0
                                                         : std::numeric_limits<double>::quiet_NaN();
    std::string line;
    if (std::isfinite(r.evolutionary)) {
      line = fmt::format("{} {:+.2f} (z {:+.2f}) for stability", model, r.evolutionary, z);
    } else {
      line = "no evolutionary evidence (residue not an aligned column)";
    }
    for (const auto& fact : r.hypothesis->rationale) line += "; " + fact;
    if (!r.flags.empty()) line += "; flags: " + format_flags(r.flags);
    if (r.measured) line += fmt::format("; measured {} ({})", r.measured->value, r.measured->source);
    r.rationale = std::move(line);
  }
  return table;
}

}  // namespace kfold::pipelines::agent

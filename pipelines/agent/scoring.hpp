// The scoring table: every hypothesis with its score components, total, uncertainty and liability flags.
//
// Components: `site_independent` and `potts` (evolutionary, higher = more like the family); the
// stability/fitness term is the one chosen by EvolutionaryModels (Potts or site-independent). Terms of
// the objective this version cannot compute (solubility, binding, expression, activity, structure terms)
// are reported as not computed and weigh nothing. total = sum over computed terms of weight x z-score
// (z over every variant with a value), so terms in different units can be weighed. sd: the disagreement
// of the two evolutionary models, |z_potts - z_site_independent| / 2 x the evolutionary weight (NaN when
// only one model exists) - a stand-in until the surrogate ensemble of later rounds exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/hypothesis.hpp"
#include "pipelines/agent/liability_filters.hpp"

namespace kfold::pipelines::agent {

// Smallest Neff at which a residue conserved in >= 95% of the (weighted) family is flagged
// "invariant_position".
inline constexpr double kMinNeffForConservation = 10.0;

struct ScoredVariant {
  const Hypothesis* hypothesis = nullptr;
  double site_independent = 0.0;  // NaN when not computable
  double potts = 0.0;             // NaN without a Potts model
  double evolutionary = 0.0;      // the term used for stability/fitness
  double total = 0.0;             // NaN when the evolutionary term is NaN
  double sd = 0.0;
  std::vector<LiabilityFlag> flags;
  std::optional<Measurement> measured;  // already measured in a results file
  std::string rationale;                // one line from the top contributing facts
};

struct ScoreTable {
  std::vector<ScoredVariant> rows;        // in hypothesis order
  double evolutionary_weight = 0.0;       // sum of the objective weights fed by the evolutionary term
  std::vector<std::string> not_computed;  // objective terms with weight > 0 that this version cannot compute
};

ScoreTable score_hypotheses(const std::vector<Hypothesis>& hypotheses, const Campaign& campaign,
                            const EvolutionaryModels& models);

}  // namespace kfold::pipelines::agent

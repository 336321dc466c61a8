// Single-substitution and consensus proposal operators.
#include "pipelines/agent/operators.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kfold::pipelines::agent {

namespace {

bool is_frozen(const Campaign& campaign, int64_t residue) {
  return std::binary_search(campaign.frozen.begin(), campaign.frozen.end(), residue);
}

}  // namespace

void propose_single_substitutions(const Campaign& campaign, HypothesisSet& out) {
  const std::string& wt = campaign.target.sequence;
  for (size_t k = 0; k < wt.size(); ++k) {
    const int64_t residue = campaign.target.first_residue + static_cast<int64_t>(k);
    if (is_frozen(campaign, residue)) continue;
    for (const char aa : kAminoAcids) {
      if (aa == wt[k]) continue;
      Variant v;
      v.substitutions.push_back({residue, wt[k], aa});
      out.add("single_substitution", v, {});
    }
  }
}

void propose_consensus(const Campaign& campaign, const EvolutionaryModels& models, HypothesisSet& out,
                       double min_frequency) {
  struct Candidate {
    Substitution sub;
    double gain;
  };
  std::vector<Candidate> candidates;
  const std::string& wt = campaign.target.sequence;
  for (size_t k = 0; k < wt.size(); ++k) {
    const int64_t col = models.column_of_index[k];
    const int64_t residue = campaign.target.first_residue + static_cast<int64_t>(k);
    if (col < 0 || is_frozen(campaign, residue)) continue;
    const uint8_t cons = models.site_independent.consensus(col);
    const uint8_t wt_state = models.wild_type_states[static_cast<size_t>(col)];
    const double f_cons = models.site_independent.raw_frequency(col, cons);
    if (cons == wt_state || f_cons < min_frequency) continue;
    const double f_wt = models.site_independent.raw_frequency(col, wt_state);
    Variant v;
    v.substitutions.push_back({residue, wt[k], state_letter(cons)});
    out.add("consensus", v,
            {fmt::format("back to consensus: {} is {:.0f}% of the family at {}, wild-type {} {:.0f}%",
                         state_letter(cons), 100.0 * f_cons, residue, wt[k], 100.0 * f_wt)});
    candidates.push_back({v.substitutions.front(), f_cons - f_wt});
  }
  if (campaign.max_mutations >= 2 && candidates.size() >= 2) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.gain > b.gain; });
    const size_t n = std::min(candidates.size(), static_cast<size_t>(campaign.max_mutations));
    Variant v;
    for (size_t k = 0; k < n; ++k) v.substitutions.push_back(candidates[k].sub);
    std::sort(v.substitutions.begin(), v.substitutions.end(),
              [](const Substitution& a, const Substitution& b) { return a.position < b.position; });
    out.add("consensus_combination", v,
            {fmt::format("the {} consensus substitutions with the largest frequency gain combined", n)});
  }
}

}  // namespace kfold::pipelines::agent

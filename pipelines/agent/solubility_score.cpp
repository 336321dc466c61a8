// Hydropathy- and charge-based solubility change of a variant.
#include "pipelines/agent/solubility_score.hpp"

#include <cstdlib>

namespace kfold::pipelines::agent {

double sequence_only_exposure(char wild_type) { return kyte_doolittle(wild_type) >= 1.9 ? kBuriedByTypeExposure : 1.0; }

double solubility_score(const Variant& variant, std::string_view wild_type, int64_t first_residue,
                        const std::vector<double>& exposure) {
  double hydropathy = 0.0;
  int charge_change = 0;
  for (const Substitution& s : variant.substitutions) {
    const auto index = static_cast<size_t>(s.position - first_residue);
    const double weight = exposure.empty() ? sequence_only_exposure(s.wild_type) : exposure.at(index);
    hydropathy += weight * (kyte_doolittle(s.wild_type) - kyte_doolittle(s.mutant)) / 4.5;
    charge_change += residue_charge(s.mutant) - residue_charge(s.wild_type);
  }
  const int q_wt = net_charge(wild_type);
  return hydropathy + 0.1 * (std::abs(q_wt + charge_change) - std::abs(q_wt));
}

}  // namespace kfold::pipelines::agent

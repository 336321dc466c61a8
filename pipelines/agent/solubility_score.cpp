// Hydropathy- and charge-based solubility change of a variant.
#include "pipelines/agent/solubility_score.hpp"

#include <cstdlib>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

double kyte_doolittle(char aa) {
  switch (aa) {
    case 'I': return 4.5;
    case 'V': return 4.2;
    case 'L': return 3.8;
    case 'F': return 2.8;
    case 'C': return 2.5;
    case 'M': return 1.9;
    case 'A': return 1.8;
    case 'G': return -0.4;
    case 'T': return -0.7;
    case 'S': return -0.8;
    case 'W': return -0.9;
    case 'Y': return -1.3;
    case 'P': return -1.6;
    case 'H': return -3.2;
    case 'E': case 'Q': case 'D': case 'N': return -3.5;
    case 'K': return -3.9;
    case 'R': return -4.5;
    default: fail_runtime("kyte_doolittle: '{}' is not a standard amino acid", aa);
  }
}

int net_charge(std::string_view sequence) {
  int q = 0;
  for (const char aa : sequence) q += (aa == 'K' || aa == 'R') ? 1 : (aa == 'D' || aa == 'E') ? -1 : 0;
  return q;
}

double solubility_score(const Variant& variant, std::string_view wild_type, int64_t first_residue,
                        const std::vector<double>& exposure) {
  double hydropathy = 0.0;
  int charge_change = 0;
  for (const Substitution& s : variant.substitutions) {
    const auto index = static_cast<size_t>(s.position - first_residue);
    const double weight = exposure.empty() ? 1.0 : exposure.at(index);
    hydropathy += weight * (kyte_doolittle(s.wild_type) - kyte_doolittle(s.mutant)) / 4.5;
    charge_change += net_charge(std::string_view(&s.mutant, 1)) - net_charge(std::string_view(&s.wild_type, 1));
  }
  const int q_wt = net_charge(wild_type);
  return hydropathy + 0.1 * (std::abs(q_wt + charge_change) - std::abs(q_wt));
}

}  // namespace kfold::pipelines::agent

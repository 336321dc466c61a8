// Site and residue terms of the evolutionary scores (see the header).
#include "pipelines/agent/site_decomposition.hpp"

#include <cmath>
#include <limits>

namespace kfold::pipelines::agent {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

SiteDecomposition::SiteDecomposition(const EvolutionaryModels& models, const std::string& sequence,
                                     int64_t first_residue)
    : models_(models),
      first_residue_(first_residue),
      has_potts_(models.potts.has_value()),
      site_independent_mean_(sequence.size(), kNaN),
      potts_mean_(sequence.size(), kNaN) {
  for (size_t i = 0; i < sequence.size(); ++i) {
    const int64_t position = first_residue + static_cast<int64_t>(i);
    double si = 0.0;
    double potts = 0.0;
    double n = 0.0;
    for (const char mutant : kAminoAcids) {
      if (mutant == sequence[i]) continue;
      const Variant single{{Substitution{position, sequence[i], mutant}}};
      si += models.site_independent_score(single, first_residue);
      if (has_potts_) potts += models.potts_score(single, first_residue);
      n += 1.0;
    }
    site_independent_mean_[i] = si / n;  // NaN off the columns (every score is)
    if (has_potts_) potts_mean_[i] = potts / n;
  }
}

double SiteDecomposition::site_independent_site_mean(int64_t position) const {
  return site_independent_mean_.at(static_cast<size_t>(position - first_residue_));
}

double SiteDecomposition::potts_site_mean(int64_t position) const {
  return potts_mean_.at(static_cast<size_t>(position - first_residue_));
}

std::vector<double> SiteDecomposition::features(const Variant& variant) const {
  double si_site = 0.0;
  double potts_site = 0.0;
  for (const Substitution& s : variant.substitutions) {
    si_site += site_independent_site_mean(s.position);
    potts_site += potts_site_mean(s.position);
  }
  std::vector<double> out = {si_site, models_.site_independent_score(variant, first_residue_) - si_site};
  if (has_potts_) {
    out.push_back(potts_site);
    out.push_back(models_.potts_score(variant, first_residue_) - potts_site);
  }
  return out;
}

}  // namespace kfold::pipelines::agent

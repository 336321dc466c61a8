// Structure terms of a variant from two predictions.
#include "pipelines/agent/structure_oracle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

StructureTerms structure_terms(const StructurePrediction& wild_type, const StructurePrediction& mutant,
                               const Variant& variant, int64_t first_residue, int64_t window) {
  const int64_t n_res = static_cast<int64_t>(wild_type.plddt.size());
  if (static_cast<int64_t>(mutant.plddt.size()) != n_res || wild_type.ca.size() != mutant.ca.size() ||
      static_cast<int64_t>(wild_type.ca.size()) != n_res) {
    fail_runtime("structure_terms: predictions of different lengths ({} and {} residues)", n_res, mutant.plddt.size());
  }
  StructureTerms t;
  std::vector<bool> near(static_cast<size_t>(n_res), false);
  for (const Substitution& s : variant.substitutions) {
    const int64_t idx = s.position - first_residue;
    if (idx < 0 || idx >= n_res) fail_runtime("structure_terms: residue {} outside the prediction", s.position);
    for (int64_t k = std::max<int64_t>(0, idx - window); k <= std::min(n_res - 1, idx + window); ++k) {
      near[static_cast<size_t>(k)] = true;
    }
  }
  double sum = 0.0;
  double n = 0.0;
  for (int64_t k = 0; k < n_res; ++k) {
    if (!near[static_cast<size_t>(k)]) continue;
    sum += mutant.plddt[static_cast<size_t>(k)] - wild_type.plddt[static_cast<size_t>(k)];
    n += 1.0;
  }
  t.delta_plddt_site = n > 0.0 ? sum / n : 0.0;
  const auto mean_plddt = [](const std::vector<double>& plddt) {
    double total = 0.0;
    for (const double v : plddt) total += v;
    return plddt.empty() ? std::numeric_limits<double>::quiet_NaN() : total / static_cast<double>(plddt.size());
  };
  t.wild_type_plddt = mean_plddt(wild_type.plddt);
  t.mutant_plddt = mean_plddt(mutant.plddt);
  double ss = 0.0;
  double pairs = 0.0;
  auto dist = [](const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
  };
  for (int64_t i = 0; i < n_res; ++i) {
    for (int64_t j = i + 1; j < n_res; ++j) {
      const double d = dist(mutant.ca[static_cast<size_t>(i)], mutant.ca[static_cast<size_t>(j)]) -
                       dist(wild_type.ca[static_cast<size_t>(i)], wild_type.ca[static_cast<size_t>(j)]);
      ss += d * d;
      pairs += 1.0;
    }
  }
  t.ca_drmsd = pairs > 0.0 ? std::sqrt(ss / pairs) : 0.0;
  t.delta_ptm = mutant.ptm - wild_type.ptm;

  // Burial, contacts and clashes from Cβ (Cα where a prediction has none).
  const auto& wt_cb = wild_type.cb.size() == wild_type.ca.size() ? wild_type.cb : wild_type.ca;
  const auto& mut_cb = mutant.cb.size() == mutant.ca.size() ? mutant.cb : mutant.ca;
  double burial = 0.0;
  for (const Substitution& s : variant.substitutions) {
    const int64_t i = s.position - first_residue;
    for (int64_t j = 0; j < n_res; ++j) {
      if (j != i && dist(wt_cb[static_cast<size_t>(i)], wt_cb[static_cast<size_t>(j)]) <= kBurialRadius) burial += 1.0;
      if (std::abs(j - i) < kContactMinSeparation) continue;
      const bool before = dist(wt_cb[static_cast<size_t>(i)], wt_cb[static_cast<size_t>(j)]) <= kContactDistance;
      const bool after = dist(mut_cb[static_cast<size_t>(i)], mut_cb[static_cast<size_t>(j)]) <= kContactDistance;
      t.lost_contacts += before && !after;
      t.gained_contacts += after && !before;
    }
  }
  t.burial_site = burial / static_cast<double>(std::max<size_t>(1, variant.substitutions.size()));
  const auto clashes = [&](const StructurePrediction& p) {
    int64_t count = 0;
    for (int64_t i = 0; i < n_res; ++i) {
      for (int64_t j = i + 2; j < n_res; ++j) {
        count += dist(p.ca[static_cast<size_t>(i)], p.ca[static_cast<size_t>(j)]) < kClashCaDistance;
      }
    }
    return count;
  };
  t.new_clashes = std::max<int64_t>(0, clashes(mutant) - clashes(wild_type));
  if (mutant.violating_residues >= 0 && wild_type.violating_residues >= 0)
    t.new_violations = std::max<int64_t>(0, mutant.violating_residues - wild_type.violating_residues);
  return t;
}

}  // namespace kfold::pipelines::agent

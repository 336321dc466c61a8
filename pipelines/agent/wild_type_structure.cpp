// Helix assignment from Cα distances and the Cα geometry of disulfides.
#include "pipelines/agent/wild_type_structure.hpp"

#include <cmath>

namespace kfold::pipelines::agent {

double ca_distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

bool disulfide_ca_geometry(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  const double d = ca_distance(a, b);
  return d >= kDisulfideCaMin && d <= kDisulfideCaMax;
}

std::vector<bool> helix_from_ca(const std::vector<std::array<double, 3>>& ca, const std::vector<double>& plddt,
                                double min_plddt) {
  const auto n = static_cast<int64_t>(ca.size());
  std::vector<bool> helix(static_cast<size_t>(n), false);
  const auto in = [](double d, double lo, double hi) { return d >= lo && d <= hi; };
  for (int64_t i = 0; i + 4 < n; ++i) {
    bool confident = true;
    for (int64_t k = i; k <= i + 4; ++k)
      confident = confident && static_cast<size_t>(k) < plddt.size() && plddt[static_cast<size_t>(k)] >= min_plddt;
    if (!confident) continue;
    const auto& a = ca[static_cast<size_t>(i)];
    if (in(ca_distance(a, ca[static_cast<size_t>(i + 2)]), 5.0, 6.0) &&
        in(ca_distance(a, ca[static_cast<size_t>(i + 3)]), 4.6, 5.8) &&
        in(ca_distance(a, ca[static_cast<size_t>(i + 4)]), 5.6, 7.0)) {
      for (int64_t k = i; k <= i + 4; ++k) helix[static_cast<size_t>(k)] = true;
    }
  }
  return helix;
}

std::vector<bool> helix_interior(const std::vector<bool>& helix) {
  std::vector<bool> interior(helix.size(), false);
  int64_t run = 0;  // residues of the current helix so far
  for (size_t i = 0; i < helix.size(); ++i) {
    run = helix[i] ? run + 1 : 0;
    interior[i] = run > 3;
  }
  return interior;
}

}  // namespace kfold::pipelines::agent

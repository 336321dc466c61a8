// Helix assignment from Cα distances and the Cα geometry of disulfides.
#include "pipelines/agent/wild_type_structure.hpp"

#include <algorithm>
#include <cmath>

#include "data/error.hpp"

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

std::array<double, 3> virtual_cb(const std::array<double, 3>& n, const std::array<double, 3>& ca,
                                 const std::array<double, 3>& c) {
  // Cβ = Cα + x a + y b + z c with b = Cα - N, c = C - Cα, a = b × c: the coefficients place an ideal
  // tetrahedral Cβ 1.52 Å from Cα (fitted to high-resolution structures).
  std::array<double, 3> b{}, cc{}, a{};
  for (int k = 0; k < 3; ++k) {
    b[k] = ca[k] - n[k];
    cc[k] = c[k] - ca[k];
  }
  a = {b[1] * cc[2] - b[2] * cc[1], b[2] * cc[0] - b[0] * cc[2], b[0] * cc[1] - b[1] * cc[0]};
  std::array<double, 3> cb{};
  for (int k = 0; k < 3; ++k) cb[k] = -0.58273431 * a[k] + 0.56802827 * b[k] - 0.54067466 * cc[k] + ca[k];
  return cb;
}

namespace {

constexpr int kAtoms = 37;  // atom37: N 0, CA 1, C 2, CB 3

std::array<double, 3> atom(const data::Protein& p, int64_t residue, int index) {
  const size_t at = (static_cast<size_t>(residue) * kAtoms + static_cast<size_t>(index)) * 3;
  return {p.atom_positions[at], p.atom_positions[at + 1], p.atom_positions[at + 2]};
}

bool has_atom(const data::Protein& p, int64_t residue, int index) {
  return p.atom_mask[static_cast<size_t>(residue) * kAtoms + static_cast<size_t>(index)] > 0.5f;
}

}  // namespace

std::vector<std::array<double, 3>> alpha_carbons(const data::Protein& protein) {
  protein.check_shapes();
  std::vector<std::array<double, 3>> ca;
  for (int64_t i = 0; i < protein.n_res(); ++i)
    ca.push_back(has_atom(protein, i, 1) ? atom(protein, i, 1) : std::array<double, 3>{});
  return ca;
}

std::vector<std::array<double, 3>> beta_carbons(const data::Protein& protein) {
  protein.check_shapes();
  std::vector<std::array<double, 3>> cb;
  for (int64_t i = 0; i < protein.n_res(); ++i) {
    if (has_atom(protein, i, 3)) {
      cb.push_back(atom(protein, i, 3));
    } else if (has_atom(protein, i, 0) && has_atom(protein, i, 1) && has_atom(protein, i, 2)) {
      cb.push_back(virtual_cb(atom(protein, i, 0), atom(protein, i, 1), atom(protein, i, 2)));
    } else {
      cb.push_back(has_atom(protein, i, 1) ? atom(protein, i, 1) : std::array<double, 3>{});
    }
  }
  return cb;
}

std::vector<int64_t> neighbour_counts(const std::vector<std::array<double, 3>>& points, double radius) {
  std::vector<int64_t> counts(points.size(), 0);
  for (size_t i = 0; i < points.size(); ++i) {
    for (size_t j = i + 1; j < points.size(); ++j) {
      if (ca_distance(points[i], points[j]) <= radius) {
        ++counts[i];
        ++counts[j];
      }
    }
  }
  return counts;
}

double exposure_from_neighbours(int64_t count) {
  const double t =
      static_cast<double>(kBuriedNeighbours - count) / static_cast<double>(kBuriedNeighbours - kExposedNeighbours);
  return std::clamp(t, 0.0, 1.0);
}

WildTypeStructure analyse_wild_type(const StructurePrediction& prediction, size_t n_res) {
  if (prediction.plddt.size() != n_res || prediction.ca.size() != n_res ||
      (!prediction.cb.empty() && prediction.cb.size() != n_res)) {
    fail_runtime("wild-type prediction: {} pLDDT values, {} Cα and {} Cβ positions for {} residues",
                 prediction.plddt.size(), prediction.ca.size(), prediction.cb.size(), n_res);
  }
  WildTypeStructure w;
  w.plddt = prediction.plddt;
  w.ca = prediction.ca;
  w.cb = prediction.cb.empty() ? prediction.ca : prediction.cb;
  w.helix = helix_from_ca(w.ca, w.plddt);
  w.neighbours = neighbour_counts(w.cb);
  // A residue the model is unsure of (pLDDT < kConfidentPlddt) has no trustworthy neighbours: exposed,
  // as the sequence-only rules take every residue, like the helix and disulfide rules that ignore it.
  for (size_t i = 0; i < n_res; ++i)
    w.exposure.push_back(w.confident(i) ? exposure_from_neighbours(w.neighbours[i]) : 1.0);
  return w;
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

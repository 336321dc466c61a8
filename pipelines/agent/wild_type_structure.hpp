// What the liability rules, the structure operators and the solubility term read from the predicted wild
// type: an α-helix mask from the Cα trace (no backbone N/O needed, so it works on any
// StructurePrediction), the Cα geometry of cysteine pairs, Cβ positions (virtual for Gly) and burial
// as the number of Cβ atoms within 10 Å. Only confident residues (pLDDT >= kConfidentPlddt) count for
// helices and disulfides: a disordered stretch is neither helix nor a disulfide partner; and only their
// burial: a residue below it is exposed (exposure 1, as without structure) for the oxidation flag and
// the solubility term.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "data/protein.hpp"
#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

inline constexpr double kConfidentPlddt = 70.0;

// Per residue, true in an α-helix: every residue of a window i..i+4 of confident residues whose Cα
// distances match an α-helix (i to i+2 in [5.0, 6.0] Å, i to i+3 in [4.6, 5.8] Å, i to i+4 in
// [5.6, 7.0] Å; ideal: 5.4, 5.0, 6.2; a β-strand has ~6.5, ~10, ~13). Helices are thus >= 5 residues.
std::vector<bool> helix_from_ca(const std::vector<std::array<double, 3>>& ca, const std::vector<double>& plddt,
                                double min_plddt = kConfidentPlddt);

// The residues of each helix that are past its first turn (the first three residues excluded): a Pro
// there breaks the helix, while Pro is common in the first turn (N1).
std::vector<bool> helix_interior(const std::vector<bool>& helix);

// Cα-Cα distance of a disulfide-bonded Cys pair: [4.4, 6.8] Å (observed range in crystal structures).
inline constexpr double kDisulfideCaMin = 4.4;
inline constexpr double kDisulfideCaMax = 6.8;
double ca_distance(const std::array<double, 3>& a, const std::array<double, 3>& b);
bool disulfide_ca_geometry(const std::array<double, 3>& a, const std::array<double, 3>& b);

// Cβ-Cβ distance of a disulfide-bonded pair: [3.45, 4.5] Å (observed ~3.8 Å; the range disulfide
// design tools accept).
inline constexpr double kDisulfideCbMin = 3.45;
inline constexpr double kDisulfideCbMax = 4.5;

// The Cβ an ideal residue would have, from its backbone N, Cα and C (tetrahedral geometry, 1.52 Å).
std::array<double, 3> virtual_cb(const std::array<double, 3>& n, const std::array<double, 3>& ca,
                                 const std::array<double, 3>& c);
// Per residue: the Cβ from the atom37 positions, or the virtual one where Cβ is absent (Gly). Residues
// without N, Cα and C get their Cα (or the origin when that is absent too).
std::vector<std::array<double, 3>> beta_carbons(const data::Protein& protein);
// Per residue: the Cα positions of atom37 (index 1).
std::vector<std::array<double, 3>> alpha_carbons(const data::Protein& protein);

// Burial: per residue, the number of other residues whose point (Cβ) lies within `radius` Å.
std::vector<int64_t> neighbour_counts(const std::vector<std::array<double, 3>>& points, double radius = 10.0);
// Solvent exposure from the neighbour count: 1 at <= kExposedNeighbours, 0 at >= kBuriedNeighbours,
// linear between (Cβ counts within 10 Å; in the 1HPV test structure charged residues average 13,
// hydrophobic ones 17, and the most buried core residues reach ~25).
inline constexpr int64_t kExposedNeighbours = 12;
inline constexpr int64_t kBuriedNeighbours = 20;
double exposure_from_neighbours(int64_t count);

// The predicted wild type as the structure operators and the solubility term read it.
struct WildTypeStructure {
  std::vector<double> plddt;              // [n_res]
  std::vector<std::array<double, 3>> ca;  // [n_res]
  std::vector<std::array<double, 3>> cb;  // [n_res] (the Cα where the prediction has no Cβ)
  std::vector<bool> helix;                // helix_from_ca
  std::vector<int64_t> neighbours;        // neighbour_counts(cb)
  std::vector<double> exposure;           // exposure_from_neighbours; 1 (exposed) where not confident
  bool confident(size_t i) const { return plddt[i] >= kConfidentPlddt; }
};
// Throws RuntimeError when the prediction does not have n_res residues (pLDDT, Cα and, when given, Cβ).
WildTypeStructure analyse_wild_type(const StructurePrediction& prediction, size_t n_res);

}  // namespace kfold::pipelines::agent

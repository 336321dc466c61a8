// What the liability rules read from the predicted wild type: an α-helix mask from the Cα trace (no
// backbone N/O needed, so it works on any StructurePrediction) and the Cα geometry of cysteine pairs.
// Only confident residues (pLDDT >= kConfidentPlddt) count: a disordered stretch is neither helix nor
// a disulfide partner.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

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

}  // namespace kfold::pipelines::agent

// The solubility term of the objective: a CamSol-like intrinsic estimate of how a variant changes
// solubility, from hydropathy and charge (Sormanni et al. 2015 weigh the same two properties first).
//   Δsolubility = Σ_sites exposure_i × (KD(wt_i) - KD(mut_i)) / 4.5  +  0.1 × (|Q_mut| - |Q_wt|)
// KD: the Kyte-Doolittle hydropathy (4.5 Ile .. -4.5 Arg); Q: the net charge at pH 7 (K, R +1; D, E -1;
// His 0). exposure_i comes from the predicted wild type (wild_type_structure.hpp); without a prediction it is
// estimated from the wild-type residue alone (sequence_only_exposure). Higher is more soluble.
#pragma once

#include <string_view>
#include <vector>

#include "pipelines/agent/residue_properties.hpp"
#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

// Without a structure: the strongly hydrophobic residues (Kyte-Doolittle >= 1.9: I, V, L, F, C, M), mostly buried
// in folded proteins, count a quarter; every other residue fully. Counting every site fully made a sequence-only
// solubility term prefer I->R in the core wherever the evolutionary scores tied (unseen substitutions).
inline constexpr double kBuriedByTypeExposure = 0.25;
double sequence_only_exposure(char wild_type);

// `exposure`: per residue of the wild type (0..1), or empty for sequence-only.
double solubility_score(const Variant& variant, std::string_view wild_type, int64_t first_residue,
                        const std::vector<double>& exposure);

}  // namespace kfold::pipelines::agent

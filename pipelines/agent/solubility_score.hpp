// The solubility term of the objective: a CamSol-like intrinsic estimate of how a variant changes
// solubility, from hydropathy and charge (Sormanni et al. 2015 weigh the same two properties first).
//   Δsolubility = Σ_sites exposure_i × (KD(wt_i) - KD(mut_i)) / 4.5  +  0.1 × (|Q_mut| - |Q_wt|)
// KD: the Kyte-Doolittle hydropathy (4.5 Ile .. -4.5 Arg); Q: the net charge at pH 7 (K, R +1; D, E -1;
// His 0). exposure_i comes from the predicted wild type (wild_type_structure.hpp); without a prediction
// every site counts fully (a sequence-only estimate). Higher is more soluble.
#pragma once

#include <string_view>
#include <vector>

#include "pipelines/agent/residue_properties.hpp"
#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

// `exposure`: per residue of the wild type (0..1), or empty for sequence-only.
double solubility_score(const Variant& variant, std::string_view wild_type, int64_t first_residue,
                        const std::vector<double>& exposure);

}  // namespace kfold::pipelines::agent

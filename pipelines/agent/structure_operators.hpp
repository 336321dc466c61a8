// Proposal operators that read the predicted wild type (wild_type_structure.hpp), each adding hypotheses
// with the geometry behind them as rationale facts. Only confident residues (pLDDT >= 70) are used;
// frozen residues and max_mutations are respected.
//   disulfide_design            pairs whose Cβ-Cβ (3.45-4.5 Å) and Cα-Cα (4.4-6.8 Å) distances fit a
//                               disulfide, >= 3 residues apart, neither Cys: both to Cys (max_mutations >= 2)
//   surface_hydrophobic_to_polar exposed V/I/L/M/F/W/Y (exposure >= 0.75) to the two polar residues
//                               (K E Q R D N S T) the family accepts best (site-independent score)
//   surface_entropy_reduction   exposed K/E/Q to Ala (Derewenda's crystallisation rule); with
//                               max_mutations >= 2 also clusters of 2-3 of them within 4 residues
//   helix_gly_to_ala            Gly past the first turn of a helix to Ala (helix propensity)
//   helix_n_cap                 the residue before a helix (N-cap) to Ser, Thr or Asp when it is none of them
#pragma once

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/hypothesis.hpp"
#include "pipelines/agent/wild_type_structure.hpp"

namespace kfold::pipelines::agent {

// Exposure at or above which a residue counts as on the surface for the surface operators.
inline constexpr double kSurfaceExposure = 0.75;

void propose_disulfides(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out);
void propose_surface_polar(const Campaign& campaign, const EvolutionaryModels& models, const WildTypeStructure& wt,
                           HypothesisSet& out);
void propose_surface_entropy_reduction(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out);
void propose_helix_rules(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out);

// All of the above.
void propose_structure_rules(const Campaign& campaign, const EvolutionaryModels& models, const WildTypeStructure& wt,
                             HypothesisSet& out);

}  // namespace kfold::pipelines::agent

// Binding to the campaign's partner chain, from complex predictions (StructurePrediction::chain_break):
// the partner's sequence beside a variant (a copy of the target, in a homo-oligomer, carries the
// variant too), the target chain cut out of a complex for every single-chain term, and the interface terms of a
// complex: the mean predicted aligned error between the chains (both directions; lower = the model is
// surer of the relative placement, AlphaFold-Multimer's interface confidence in spirit) and the Cβ
// contacts across the interface.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

// The partner chain a structure oracle predicts beside the target chain `target` (a variant of the wild
// type, or a construct: a fragment of it): a partner identical to the wild-type target `wild_type` is a
// copy of the target in a homo-oligomer and carries the same change (the variant, or the fragment); any
// other partner is predicted as given.
std::string partner_chain_sequence(std::string_view partner, std::string_view wild_type, std::string_view target);

// The campaign's partner chain is a copy of its target (a homo-oligomer): partner_chain_sequence applies
// every variant to both chains.
inline bool partner_is_target_copy(std::string_view partner, std::string_view wild_type) {
  return !partner.empty() && partner == wild_type;
}

// The target's residues of a complex (plddt, ca, cb, PAE block; pdb and the violation count of the
// complex kept; ptm NaN: the complex's pTM is not the chain's); the prediction itself when it is not a
// complex.
StructurePrediction target_chain(const StructurePrediction& prediction);

struct InterfaceTerms {
  double pae = std::numeric_limits<double>::quiet_NaN();  // Å, mean over target x partner pairs (NaN: no PAE)
  int64_t contacts = 0;                                   // target-partner Cβ pairs <= kContactDistance
};

// Throws RuntimeError when `complex` is not a complex (chain_break outside 1 .. n_res - 1).
InterfaceTerms interface_terms(const StructurePrediction& complex);

// Adds to `terms` the change of the interface, mutant against wild type: delta_interface_pae,
// lost_interface_contacts (target-partner contacts of the wild type absent in the mutant, per residue pair), and to
// new_clashes the target-partner Cα pairs under kClashCaDistance beyond the wild type's.
void add_interface_terms(StructureTerms& terms, const StructurePrediction& wild_type,
                         const StructurePrediction& mutant);

}  // namespace kfold::pipelines::agent

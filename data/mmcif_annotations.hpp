// What kfold adds to gemmi's mmCIF of a structure so that it reads as AlphaFold's files do: auth_* columns,
// the residues' chemical types and names, each entity's chains and, for a prediction, ModelCIF's description
// of the model and its per-residue pLDDT.
#pragma once

#include <gemmi/cifdoc.hpp>
#include <gemmi/model.hpp>

#include "data/structure_io.hpp"

namespace kfold::data {

// Completes the block gemmi::make_mmcif_document wrote for `st` (made from `protein`): the ModelCIF
// categories only where header.b_factors_are_plddt.
void complete_mmcif_block(gemmi::cif::Block& block, const gemmi::Structure& st, const Protein& protein,
                          const StructureHeader& header);

}  // namespace kfold::data

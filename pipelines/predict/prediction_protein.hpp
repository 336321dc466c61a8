// A prediction as a data::Protein for unrelaxed_<model>.pdb / .cif (AlphaFold's
// protein.from_prediction): pLDDT in the B-factor column of every atom of its residue.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "data/protein.hpp"

namespace kfold::pipelines {

// The model's outputs for one structure, as flat row-major arrays.
struct PredictionArrays {
  std::span<const int64_t> aatype;              // [n_res] 0..20 (rc::restypes order, 20 = UNK)
  std::span<const int64_t> residue_index;       // [n_res] the features' residue_index (0-based)
  std::span<const float> final_atom_positions;  // [n_res, 37, 3] Angstrom
  std::span<const float> final_atom_mask;       // [n_res, 37]
  std::span<const float> plddt;                 // [n_res] 0..100
  std::span<const int64_t> chain_index = {};    // [n_res] 0 = chain A, ...; empty: one chain A
};

// Residue numbers are residue_index + 1 (AlphaFold writes 1-based numbers); B-factors are the pLDDT
// repeated over the residue's 37 atom slots. Throws InputError naming the array whose size disagrees
// with n_res (= aatype.size()) or an aatype outside 0..20.
data::Protein protein_from_prediction(const PredictionArrays& prediction);

// The chains of a complex given as one input (asym_id [n_res], each chain's residues together, as
// check_raw_feature_values requires): each residue's chain (0 = A, 1 = B, ... in order of appearance) and its
// residue index restarting at 0 with each chain (offsets within a chain kept), as ColabFold numbers a complex
// that the monomer models predicted with residue-index gaps. Returns {chain_index, residue_index}.
std::pair<std::vector<int64_t>, std::vector<int64_t>> chains_from_asym_id(std::span<const int32_t> asym_id,
                                                                          std::span<const int64_t> residue_index);

// The header written into unrelaxed/ranked structure files: title "kfold prediction: <model>" and
// the remarks (PDB REMARK 250 / mmCIF comments), e.g. "WARNING: random weights, not a prediction".
data::StructureHeader prediction_header(const std::string& model_name, const std::vector<std::string>& remarks = {});

}  // namespace kfold::pipelines

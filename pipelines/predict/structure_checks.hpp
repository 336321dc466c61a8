// The structural checks of a structure file or a prediction: the residue numbering AlphaFold's violation checks
// take (peptide bonds by numbering, or by the atoms for files), chain breaks and bonds across chains for the
// log, and the checks of a structure file (kfold inspect); relax_prediction relaxes against the same checks.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/protein.hpp"
#include "fold/structural_violations.hpp"

namespace kfold::pipelines {

// Where a structure's peptide bonds are. Predictions: between residues of successive numbers, as AlphaFold's
// checks take the model's residue_index. Structure files: also from their atoms, since files number residues
// in many ways: a C(i)-N(j) closer than 2 Å is a bond whatever the numbers (numbering that skips, 217 to
// 219; insertion codes that run back, IMGT's 112B, 112A, 112; residues written out of order), and residues
// of successive numbers whose C-N is farther than 4 Å are a chain break (residues left out and the rest
// renumbered), neither checked nor closed as a bond.
enum class ChainBonds { by_numbering, by_numbering_and_geometry };

// The residue numbering the structural checks take for `protein` (AlphaFold's checks see a peptide bond
// between residues whose indices differ by 1): bonded residues numbered successively, the chain's next
// fragment and the next chain 100 further. Residues of one number with successive insertion codes (100,
// 100A) are successive residues; the parts of a chain that another chain splits (A, B, A) are one chain.
// `breaks` (optional) gets the chain breaks found between residues of successive numbers, for the log.
std::vector<int64_t> violation_check_residue_index(const data::Protein& protein, ChainBonds bonds,
                                                   std::vector<std::string>* breaks = nullptr);

// `breaks` as a log or report shows them: the first `shown`, then how many in all (a random-weight prediction
// has a break between most residues: a list of 75 was 3,000 characters).
std::string breaks_text(const std::vector<std::string>& breaks, size_t shown = 8);

// "A40-B41 (C-N 1.33 A)" for each residue followed in the file by one of another chain whose N lies at
// peptide-bond distance from its C: one chain given two names. Chains are never bonded, so the checks see
// a clash there and relax pulls the pair apart.
std::vector<std::string> peptide_bonds_across_chains(const data::Protein& protein);

// A Protein as the tensors the checks and the relax take, numbered as above. Residue numbers as written (a
// prediction's residue_index + 1) give the same chain breaks as the model's residue_index.
struct ProteinTensors {
  at::Tensor aatype, residue_index, positions, mask;  // [L], [L], [L, 37, 3], [L, 37]
};
ProteinTensors protein_tensors(const data::Protein& protein, ChainBonds bonds, std::vector<std::string>* breaks);

// AlphaFold's structural violation checks of `protein` (numbered as above), as kfold inspect reports them.
fold::ViolationMetrics structure_violations_of(const data::Protein& protein, ChainBonds bonds,
                                               std::vector<std::string>* breaks = nullptr);

}  // namespace kfold::pipelines

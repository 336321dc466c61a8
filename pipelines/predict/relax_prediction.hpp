// `kfold predict --relax`: a predicted structure relaxed against AlphaFold's structural violation checks
// (fold/violation_relax.hpp), and relax_metrics.json as AlphaFold's run_alphafold.py writes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/protein.hpp"
#include "fold/structural_violations.hpp"

namespace kfold::pipelines {

// The header remark of every relaxed structure file.
inline constexpr const char* kRelaxRemark =
    "RELAXED by kfold: restrained minimisation of AlphaFold's structural violation terms (not Amber, no hydrogens)";

struct RelaxedPrediction {
  data::Protein protein;                    // the relaxed atoms; everything else (B-factors: pLDDT) as the input
  std::vector<float> remaining_violations;  // [n_res] 1 for a residue still violating after the relax
};

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

// AlphaFold's structural violation checks of `protein` (numbered as above).
fold::ViolationMetrics check_protein(const data::Protein& protein, ChainBonds bonds,
                                     std::vector<std::string>* breaks = nullptr);

// Relaxes `prediction` (a structure as unrelaxed_<model>.pdb holds it, or any structure: `kfold relax`) and logs
// what changed under `name`, and the chain breaks found.
// `check_cancelled` (optional) is called at every energy evaluation and throws to stop.
RelaxedPrediction relax_prediction(const data::Protein& prediction, const std::string& name, ChainBonds bonds,
                                   const std::function<void()>& check_cancelled = {});

// relax_metrics.json: json.dumps({model: {"remaining_violations": [0.0, ...], "remaining_violations_count":
// n}}, indent=4), AlphaFold's file and format, models in the given order; atomic write.
std::string relax_metrics_json(const std::vector<std::pair<std::string, std::vector<float>>>& remaining);
void write_relax_metrics_json(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::vector<float>>>& remaining);

}  // namespace kfold::pipelines

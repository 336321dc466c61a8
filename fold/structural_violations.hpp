// AlphaFold2's structural violation checks (alphafold/model/folding.py find_structural_violations and
// compute_violation_metrics, all_atom.py; Jumper et al. 2021, Suppl. 1.9.11 eq. 44-46): peptide-bond lengths
// and angles between consecutive residues, clashes between atoms of different residues, and distance bounds
// within each residue (bonds, angles as virtual bonds, non-bonded pairs). These are the checks AlphaFold's
// relax step is judged by; kfold reports them for every predicted structure.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace kfold::fold {

struct ViolationOptions {
  double violation_tolerance_factor = 12.0;  // bonds and angles may deviate this many literature stddevs
  double clash_overlap_tolerance = 1.5;      // Angstrom two van der Waals spheres may overlap
  // Test switch: check every pair of residues for clashes. By default pairs whose bounding spheres are
  // farther apart than any clash distance are skipped, which gives the same result (tested) in O(L k).
  bool all_residue_pairs = false;
  // The losses: AlphaFold's flat-bottom relu(excess) (false), or relu(excess)^2 (true), smooth at the bound, as
  // the relax minimises them (fold/violation_relax.hpp). The masks and metrics are the same either way.
  bool squared_losses = false;
};

// AlphaFold's outputs of find_structural_violations, with its names. Float tensors on the input's device;
// masks are 0/1. Losses are the flat-bottom losses of the model's training loss (differentiable in the
// positions), masks and counts the hard violations.
struct StructuralViolations {
  // Between consecutive residues (residue_index differing by exactly 1): C-N bond length, CA-C-N and C-N-CA
  // angles. As in AlphaFold, the CA-C-N angle's tolerance uses the C-N bond's stddev (0.014) where the angle's
  // own (0.0311) was meant: kept for parity.
  at::Tensor bonds_c_n_loss_mean;                     // []
  at::Tensor angles_ca_c_n_loss_mean;                 // []
  at::Tensor angles_c_n_ca_loss_mean;                 // []
  at::Tensor connections_per_residue_loss_sum;        // [L]
  at::Tensor connections_per_residue_violation_mask;  // [L]
  at::Tensor connections_loss_sum;  // [] the three losses summed over the checked connections (kfold's, for relax)
  // Atoms of residues i, j with residue_index[i] < residue_index[j] closer than the sum of their van der Waals
  // radii less the overlap tolerance; the peptide bond C(i)-N(i+1) and atom14 slot 5 pairs (CYS SG-SG
  // disulfides; AlphaFold excludes that slot for every residue type) are exempt.
  at::Tensor clashes_mean_loss;            // []
  at::Tensor clashes_per_atom_loss_sum;    // [L, 14]
  at::Tensor clashes_per_atom_clash_mask;  // [L, 14]
  // Within each residue: atom14 pair distances outside rc::make_atom14_dists_bounds(overlap tolerance,
  // tolerance factor).
  at::Tensor within_per_atom_loss_sum;    // [L, 14]
  at::Tensor within_per_atom_violations;  // [L, 14]
  // 1 for a residue with any violation of the three kinds.
  at::Tensor total_per_residue_violations_mask;  // [L]
};

// One structure (no batch axes). Only atoms with atom14_exists = 1 are checked: pass the residue types' atom
// mask times the atoms present (AlphaFold's relax passes the residue types' mask alone, so an atom missing
// from a structure would be checked at the origin).
StructuralViolations find_structural_violations(const at::Tensor& aatype,            // [L] integer 0..20
                                                const at::Tensor& residue_index,     // [L] integer
                                                const at::Tensor& atom14_positions,  // [L, 14, 3] Angstrom
                                                const at::Tensor& atom14_exists,     // [L, 14] 0/1
                                                const ViolationOptions& options = {});

// compute_violation_metrics with every residue counted (seq_mask 1), plus what AlphaFold's relax reports
// (get_violation_metrics: the violating residues).
struct ViolationMetrics {
  double extreme_ca_ca_distance = 0;        // fraction of consecutive CA pairs more than 1.5 A beyond 3.80 A
  double between_residue_bond = 0;          // fraction of residues with a peptide bond or angle violation
  double between_residue_clash = 0;         // fraction of residues with a clashing atom
  double within_residue = 0;                // fraction of residues with a within-residue violation
  double per_residue = 0;                   // fraction of residues with any violation
  std::vector<int64_t> residue_violations;  // 0-based positions of the residues with any violation
};
ViolationMetrics compute_violation_metrics(const at::Tensor& residue_index,     // [L] integer
                                           const at::Tensor& atom14_positions,  // [L, 14, 3]
                                           const at::Tensor& atom14_exists,     // [L, 14]
                                           const StructuralViolations& violations);

// The whole check of a structure in AlphaFold's atom37 layout (a prediction's final_atom_positions and mask,
// or a structure read from a file): atom37 -> atom14, then the two functions above.
ViolationMetrics check_structure(const at::Tensor& aatype,            // [L] integer 0..20
                                 const at::Tensor& residue_index,     // [L] integer
                                 const at::Tensor& atom37_positions,  // [L, 37, 3]
                                 const at::Tensor& atom37_mask,       // [L, 37]
                                 const ViolationOptions& options = {});

}  // namespace kfold::fold

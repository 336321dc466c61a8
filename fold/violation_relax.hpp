// Relaxation of a predicted structure against AlphaFold's own structural violation checks
// (fold/structural_violations.hpp): a restrained minimisation, in the manner of AlphaFold's relax step
// (alphafold/relax/amber_minimize.py: heavy atoms harmonically restrained to where the model put them,
// L-BFGS, rounds that free the residues still violating until none is left), but whose energy is the
// violation losses themselves, not the Amber force field, plus penalties that keep what those distances cannot
// see (each residue's handedness, each peptide bond's cis/trans side). It removes the peptide-bond, angle, clash
// and within-residue violations AlphaFold's relax is judged by, moving atoms as little as it can; it adds no
// hydrogens and does not optimise packing or electrostatics.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "fold/structural_violations.hpp"

namespace kfold::fold {

struct RelaxOptions {
  // Energy = violation_weight * (squared violation losses) + stereo_weight * (stereochemistry penalties) +
  // stiffness * (squared displacements), in Angstrom.
  // At the minimum a violation is left with an excess of about stiffness / violation_weight times its atoms'
  // displacement: 0.01 A per A moved.
  double violation_weight = 100.0;
  double stiffness = 1.0;
  // Of the stereochemistry penalties (handedness, peptide planarity: fold/violation_relax.cpp's Stereo), in
  // Angstrom^6 and cos^2 units: 10 times the violations', so that no clash is worth inverting a residue (at the
  // violations' weight two chains 3 A apart still flipped a peptide bond).
  double stereo_weight = 1000.0;
  int64_t max_outer_iterations = 5;  // rounds; after each, residues still violating lose their restraints
  int64_t max_iterations = 500;      // L-BFGS iterations per round
  // The losses minimised are those of tighter checks than `check`: bonds and angles within 3 literature stddevs
  // (a repaired peptide bond ends at 1.371 A, not at the 1.47 A of a 10-stddev bound, a 10-sigma outlier to
  // MolProbity), clashes 0.3 A inside `check`'s.
  ViolationOptions objective{3.0, 1.2, false, true};
  ViolationOptions check{};  // what counts as a violation (AlphaFold's 12 stddevs, 1.5 A)
  // Called at every energy evaluation, next to the CLI's Ctrl-C check: throws to stop (the Python module's
  // cancellation). Empty: none.
  std::function<void()> check_cancelled;
};

struct RelaxResult {
  at::Tensor atom37_positions;  // [L, 37, 3] float32, CPU: the relaxed structure (atoms absent from the mask: 0)
  ViolationMetrics initial;     // checks of the input structure
  ViolationMetrics final;       // checks of the relaxed structure
  double rmsd = 0;              // Angstrom, all atoms present, relaxed vs input (no superposition: nothing rotates)
  double max_displacement = 0;  // Angstrom, the atom that moved most
  int64_t rounds = 0;           // minimisation rounds run (0: the input had no violation and is returned as is)
  int64_t evaluations = 0;      // energy and gradient evaluations, all rounds
};

// Deterministic (double precision on the CPU, one thread). A structure with no violation is returned unchanged.
RelaxResult relax_structure(const at::Tensor& aatype,            // [L] integer 0..20
                            const at::Tensor& residue_index,     // [L] integer
                            const at::Tensor& atom37_positions,  // [L, 37, 3]
                            const at::Tensor& atom37_mask,       // [L, 37]
                            const RelaxOptions& options = {});

}  // namespace kfold::fold

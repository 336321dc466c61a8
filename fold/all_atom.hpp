// All-atom geometry of AlphaFold2 (alphafold/model/all_atom.py): rigid-group frames from torsion angles
// (Suppl. Alg. 24 "computeAllAtomCoordinates" lines 1-10, Alg. 25 "makeRotX"), atoms placed at their
// literature positions (Alg. 24 line 11), atom14 <-> atom37 layouts, and the ground-truth rigid-group
// frames (Suppl. Table 2, Alg. 21 "rigidFrom3Points") and torsion angles of a known structure.
#pragma once

#include <ATen/core/Tensor.h>

#include "fold/rigid.hpp"

namespace kfold::fold {

// Residue types are integer tensors [..., n_res] with values 0..20 (data::rc order, 20 = UNK); values
// outside 0..20 are an indexing error (atom37_to_torsion_angles alone maps values > 20 to UNK, as AlphaFold).
// Leading batch axes are allowed everywhere; the residue axis is the last axis of `aatype`. The eight rigid
// groups are: 0 backbone, 1 pre-omega, 2 phi, 3 psi, 4..7 chi1..chi4. Constant tables are built once from
// data/residue_constants.hpp and moved to the inputs' device and dtype per call.

// Alg. 24 lines 1-10: the 8 rigid-group frames of every residue in global coordinates. Each group's frame is
// its literature default frame (rc::restype_rigid_group_default_frame) rotated about its x axis by the
// torsion angle (omega, phi, psi, chi1..chi4); chi2..chi4 chain onto the previous chi group, the others
// onto the backbone frame, which `backbone_to_global` then maps into global coordinates.
Rigid torsion_angles_to_frames(const at::Tensor& aatype,                   // [..., n_res] integer
                               const Rigid& backbone_to_global,            // [..., n_res]
                               const at::Tensor& torsion_angles_sin_cos);  // [..., n_res, 7, 2] (sin, cos)
// -> [..., n_res, 8]

// Alg. 24 line 11: every atom's literature position (rc::restype_atom14_rigid_group_positions) mapped by the
// frame of its rigid group. Slots the residue type does not have (and every slot of UNK) are 0, as in
// AlphaFold (the positions are multiplied by atom14_mask).
at::Tensor frames_and_literature_positions_to_atom14_pos(const at::Tensor& aatype,            // [..., n_res]
                                                         const Rigid& all_frames_to_global);  // [..., n_res, 8]
// -> [..., n_res, 14, 3]

// Dense atom14 data <-> atom37 layout (any trailing feature axes). Entries for atoms the residue type does
// not have are 0.
at::Tensor atom14_to_atom37(const at::Tensor& atom14_data,  // [..., n_res, 14, ...]
                            const at::Tensor& aatype);      // [..., n_res] -> [..., n_res, 37, ...]
at::Tensor atom37_to_atom14(const at::Tensor& atom37_data,  // [..., n_res, 37, ...]
                            const at::Tensor& aatype);      // [..., n_res] -> [..., n_res, 14, ...]

// 1 where the residue type has the atom (rc::restype_atom14_mask / restype_atom37_mask), float32 on
// aatype's device.
at::Tensor atom14_mask(const at::Tensor& aatype);  // [..., n_res] -> [..., n_res, 14]
at::Tensor atom37_mask(const at::Tensor& aatype);  // [..., n_res] -> [..., n_res, 37]

// Ground-truth rigid-group frames of a structure (all_atom.atom37_to_frames).
struct RigidGroups {
  Rigid frames;                   // [..., n_res, 8] group -> global; backbone in AlphaFold's convention
  Rigid alt_frames;               // [..., n_res, 8] frames rotated by pi about x for the ambiguous groups
  at::Tensor gt_exists;           // [..., n_res, 8] 1 where the group exists and its 3 atoms are present
  at::Tensor group_exists;        // [..., n_res, 8] 1 where the residue type has the group
  at::Tensor group_is_ambiguous;  // [..., n_res, 8] 1 for the last chi group of ASP, GLU, PHE, TYR
};
// Frames from the three atoms of each group (backbone: C, CA, N; psi: CA, C, O; chi k: its last three
// atoms) by Gram-Schmidt (Alg. 21); the backbone frame is then mirrored in x and z so that it maps the
// literature positions (C on +x, N in the xy plane). Groups a residue type lacks have a zero rotation.
RigidGroups atom37_to_frames(const at::Tensor& aatype,              // [..., n_res]
                             const at::Tensor& all_atom_positions,  // [..., n_res, 37, 3]
                             const at::Tensor& all_atom_mask);      // [..., n_res, 37]

// Torsion angles of a structure (all_atom.atom37_to_torsion_angles) in the order omega (to the previous
// residue), phi, psi, chi1..chi4, as (sin, cos) normalised to 1.
struct TorsionAngles {
  at::Tensor sin_cos;      // [..., n_res, 7, 2]
  at::Tensor alt_sin_cos;  // [..., n_res, 7, 2] chi shifted by pi where chi_pi_periodic (ASP, GLU, PHE, TYR)
  at::Tensor mask;         // [..., n_res, 7] 1 where the angle is defined and its 4 atoms are present
};
// Monomer semantics: the "previous residue" of the first residue is all zeros, so its omega and phi carry
// mask 0 and, as AlphaFold's placeholder_for_undefined=False, the formula's value on those zeros (the
// template embedding feeds them to the network: AlphaFold evaluated op by op gives the same values, under
// jit XLA's fused rounding turns them into noise; tests/fixtures/alphafold_model, case templates). psi is
// measured through O and mirrored (AlphaFold's convention), which is what torsion_angles_to_frames expects.
TorsionAngles atom37_to_torsion_angles(const at::Tensor& aatype,              // [..., n_res]
                                       const at::Tensor& all_atom_positions,  // [..., n_res, 37, 3]
                                       const at::Tensor& all_atom_mask);      // [..., n_res, 37]

}  // namespace kfold::fold

// All-atom geometry of AlphaFold2 (fold/all_atom.hpp): Suppl. Alg. 24 (computeAllAtomCoordinates), Alg. 25
// (makeRotX), Alg. 21 (rigidFrom3Points) for ground-truth frames and torsion angles, atom14 <-> atom37.
#include "fold/all_atom.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "data/residue_constants.hpp"

namespace kfold::fold {

namespace rc = data::rc;

namespace {

// A residue-constant table (a nested std::array, contiguous) copied into a CPU tensor of `shape`.
template <typename T, typename Table>
at::Tensor table_tensor(const Table& table, std::vector<int64_t> shape) {
  int64_t numel = 1;
  for (const int64_t d : shape) numel *= d;
  TORCH_CHECK(static_cast<int64_t>(sizeof(Table)) == numel * static_cast<int64_t>(sizeof(T)),
              "residue-constant table size does not match its shape");
  const auto dtype = std::is_same_v<T, float> ? at::kFloat : at::kLong;
  return at::from_blob(const_cast<void*>(static_cast<const void*>(&table)), shape, dtype).clone();
}

// The per-residue-type constants every function gathers from, built once on the CPU (float32 / int64).
struct Constants {
  at::Tensor default_frames;       // [21, 8, 4, 4] group -> parent group (Alg. 24 literature frames)
  at::Tensor atom14_to_group;      // [21, 14] rigid group of each atom14 slot
  at::Tensor atom14_positions;     // [21, 14, 3] literature positions in the group's frame
  at::Tensor atom14_mask;          // [21, 14]
  at::Tensor atom37_mask;          // [21, 37]
  at::Tensor atom14_to_atom37;     // [21, 14] atom37 index of each atom14 slot
  at::Tensor atom37_to_atom14;     // [21, 37] atom14 index of each atom37 slot
  at::Tensor group_base_atom37;    // [21, 8, 3] atoms defining each group's frame
  at::Tensor group_exists;         // [21, 8]
  at::Tensor group_is_ambiguous;   // [21, 8]
  at::Tensor group_ambiguity_rot;  // [21, 8, 3, 3] identity, or diag(1, -1, -1) for ambiguous groups
  at::Tensor backbone_mirror;      // [8, 3, 3] diag(-1, 1, -1) for the backbone group, else identity
  at::Tensor chi_atom_indices;     // [21, 4, 4] atom37 indices of the chi atoms
  at::Tensor chi_angles_mask;      // [21, 4]
  at::Tensor chi_pi_periodic;      // [21, 4]
  at::Tensor torsion_mirror;       // [7, 1] -1 for psi (measured through O), else 1
};

Constants make_constants() {
  constexpr int64_t n_type = rc::restype_num_with_x, n_group = rc::rigid_group_num;
  Constants c;
  c.default_frames = table_tensor<float>(rc::restype_rigid_group_default_frame(), {n_type, n_group, 4, 4});
  c.atom14_to_group = table_tensor<int64_t>(rc::restype_atom14_to_rigid_group(), {n_type, rc::atom14_num});
  c.atom14_positions = table_tensor<float>(rc::restype_atom14_rigid_group_positions(), {n_type, rc::atom14_num, 3});
  c.atom14_mask = table_tensor<float>(rc::restype_atom14_mask(), {n_type, rc::atom14_num});
  c.atom37_mask = table_tensor<float>(rc::restype_atom37_mask(), {n_type, rc::atom_type_num});
  c.atom14_to_atom37 = table_tensor<int64_t>(rc::restype_atom14_to_atom37(), {n_type, rc::atom14_num});
  c.atom37_to_atom14 = table_tensor<int64_t>(rc::restype_atom37_to_atom14(), {n_type, rc::atom_type_num});
  c.group_base_atom37 = table_tensor<int64_t>(rc::restype_rigidgroup_base_atom37_idx(), {n_type, n_group, 3});
  c.chi_atom_indices = table_tensor<int64_t>(rc::chi_angles_atom_indices(), {n_type, rc::chi_num, 4});
  c.chi_angles_mask = table_tensor<float>(rc::chi_angles_mask, {n_type, rc::chi_num});
  c.chi_pi_periodic = table_tensor<float>(rc::chi_pi_periodic, {n_type, rc::chi_num});

  // Groups: backbone and psi always exist; chi groups where the chi angle does (none for UNK).
  c.group_exists = at::zeros({n_type, n_group});  // [21, 8]
  c.group_exists.select(1, 0).fill_(1);
  c.group_exists.select(1, 3).fill_(1);
  c.group_exists.narrow(1, 4, rc::chi_num).copy_(c.chi_angles_mask);

  // The last chi group of each residue with renaming swaps is symmetric under a rotation by pi about x.
  c.group_is_ambiguous = at::zeros({n_type, n_group});                              // [21, 8]
  c.group_ambiguity_rot = at::eye(3).expand({n_type, n_group, 3, 3}).contiguous();  // [21, 8, 3, 3]
  for (const auto& swap : rc::residue_atom_renaming_swaps) {
    const int64_t restype = rc::find_resname(swap.resname);
    int64_t n_chi = 0;
    for (const float m : rc::chi_angles_mask[restype]) n_chi += m > 0 ? 1 : 0;
    const int64_t group = 4 + n_chi - 1;
    c.group_is_ambiguous[restype][group] = 1;
    c.group_ambiguity_rot[restype][group][1][1] = -1;
    c.group_ambiguity_rot[restype][group][2][2] = -1;
  }

  // AlphaFold's backbone frame convention: the Gram-Schmidt frame of (C, CA, N) mirrored in x and z.
  c.backbone_mirror = at::eye(3).expand({n_group, 3, 3}).contiguous();  // [8, 3, 3]
  c.backbone_mirror[0][0][0] = -1;
  c.backbone_mirror[0][2][2] = -1;
  c.torsion_mirror = at::tensor({1.0f, 1.0f, -1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).unsqueeze(-1);  // [7, 1]
  return c;
}

const Constants& constants() {
  static const Constants c = make_constants();
  return c;
}

// table[aatype] for a per-residue-type table [21, ...] -> [..., n_res, ...] on aatype's device.
at::Tensor gather_table(const at::Tensor& table, const at::Tensor& aatype) {
  auto shape = aatype.sizes().vec();
  const auto rest = table.sizes().slice(1);
  shape.insert(shape.end(), rest.begin(), rest.end());
  return table.to(aatype.device()).index_select(0, aatype.reshape(-1)).reshape(shape);
}

// Integer residue types as int64 (gather indices).
at::Tensor residue_types(const at::Tensor& aatype) {
  TORCH_CHECK(!at::isFloatingType(aatype.scalar_type()), "aatype must be an integer tensor, got ",
              aatype.scalar_type());
  return aatype.to(at::kLong);
}

// data gathered along axis `dim` at `index` (data's sizes up to dim, then index's last axis), with any
// trailing feature axes of data kept: index [..., k] -> [..., k, trailing...].
at::Tensor gather_atoms(const at::Tensor& data, int64_t dim, const at::Tensor& index) {
  auto shape = data.sizes().vec();
  shape[dim] = index.size(-1);
  auto expanded = index;
  for (int64_t d = dim + 1; d < data.dim(); ++d) expanded = expanded.unsqueeze(-1);
  return at::gather(data, dim, expanded.expand(shape));
}

// Mask [..., n_res, k] broadcast over the trailing feature axes of data [..., n_res, k, ...].
at::Tensor apply_mask(const at::Tensor& data, int64_t dim, const at::Tensor& mask) {
  auto m = mask.to(data.scalar_type());
  for (int64_t d = dim + 1; d < data.dim(); ++d) m = m.unsqueeze(-1);
  return data * m;
}

Rigid select_group(const Rigid& frames, int64_t group) {  // [..., 8] -> [...]
  return {frames.rot.select(-3, group), frames.trans.select(-2, group)};
}

}  // namespace

Rigid torsion_angles_to_frames(const at::Tensor& aatype, const Rigid& backbone_to_global,
                               const at::Tensor& torsion_angles_sin_cos) {
  TORCH_CHECK(
      torsion_angles_sin_cos.dim() >= 3 && torsion_angles_sin_cos.size(-2) == 7 && torsion_angles_sin_cos.size(-1) == 2,
      "torsion_angles_to_frames: expected torsion_angles_sin_cos [..., n_res, 7, 2], got ",
      torsion_angles_sin_cos.sizes());
  const auto aa = residue_types(aatype);  // [..., n_res]
  const auto& c = constants();
  const auto options = torsion_angles_sin_cos.options();

  // Literature frames of the 8 groups relative to their parent group.
  const Rigid default_frames =
      Rigid::from_tensor_4x4(gather_table(c.default_frames, aa).to(options));  // [..., n_res, 8]

  // Alg. 25 makeRotX for each group, the backbone group getting the zero angle.
  auto sin = torsion_angles_sin_cos.select(-1, 0);                    // [..., n_res, 7]
  auto cos = torsion_angles_sin_cos.select(-1, 1);                    // [..., n_res, 7]
  sin = at::cat({at::zeros_like(sin.narrow(-1, 0, 1)), sin}, -1);     // [..., n_res, 8]
  cos = at::cat({at::ones_like(cos.narrow(-1, 0, 1)), cos}, -1);      // [..., n_res, 8]
  const auto zeros = at::zeros_like(sin), ones = at::ones_like(sin);  // [..., n_res, 8]
  const auto rot_x = at::stack({ones, zeros, zeros, zeros, cos, -sin, zeros, sin, cos}, -1)
                         .unflatten(-1, {3, 3});                                       // [..., n_res, 8, 3, 3]
  const Rigid to_parent{at::matmul(default_frames.rot, rot_x), default_frames.trans};  // [..., n_res, 8]

  // chi2..chi4 are attached to the previous chi group; chain them into the backbone frame.
  const Rigid chi2 = select_group(to_parent, 4).compose(select_group(to_parent, 5));  // [..., n_res]
  const Rigid chi3 = chi2.compose(select_group(to_parent, 6));                        // [..., n_res]
  const Rigid chi4 = chi3.compose(select_group(to_parent, 7));                        // [..., n_res]
  const Rigid to_backbone{
      at::cat({to_parent.rot.narrow(-3, 0, 5), chi2.rot.unsqueeze(-3), chi3.rot.unsqueeze(-3), chi4.rot.unsqueeze(-3)},
              -3),  // [..., n_res, 8, 3, 3]
      at::cat({to_parent.trans.narrow(-2, 0, 5), chi2.trans.unsqueeze(-2), chi3.trans.unsqueeze(-2),
               chi4.trans.unsqueeze(-2)},
              -2)};  // [..., n_res, 8, 3]

  return backbone_to_global.unsqueeze(-1).compose(to_backbone);  // [..., n_res, 8]
}

at::Tensor frames_and_literature_positions_to_atom14_pos(const at::Tensor& aatype, const Rigid& all_frames_to_global) {
  const auto aa = residue_types(aatype);  // [..., n_res]
  const auto& c = constants();
  const auto options = all_frames_to_global.trans.options();

  // The frame of each atom's rigid group.
  const auto group = gather_table(c.atom14_to_group, aa);  // [..., n_res, 14]
  auto rot_shape = all_frames_to_global.rot.sizes().vec();
  rot_shape[rot_shape.size() - 3] = rc::atom14_num;
  auto trans_shape = all_frames_to_global.trans.sizes().vec();
  trans_shape[trans_shape.size() - 2] = rc::atom14_num;
  const Rigid atom_frames{
      at::gather(all_frames_to_global.rot, -3,
                 group.unsqueeze(-1).unsqueeze(-1).expand(rot_shape)),                       // [..., n_res, 14, 3, 3]
      at::gather(all_frames_to_global.trans, -2, group.unsqueeze(-1).expand(trans_shape))};  // [..., n_res, 14, 3]

  const auto literature = gather_table(c.atom14_positions, aa).to(options);  // [..., n_res, 14, 3]
  const auto mask = gather_table(c.atom14_mask, aa).to(options);             // [..., n_res, 14]
  return atom_frames.apply(literature) * mask.unsqueeze(-1);                 // [..., n_res, 14, 3]
}

at::Tensor atom14_to_atom37(const at::Tensor& atom14_data, const at::Tensor& aatype) {
  const auto aa = residue_types(aatype);  // [..., n_res]
  const int64_t dim = aa.dim();           // the atom axis of the data
  TORCH_CHECK(atom14_data.dim() > dim && atom14_data.size(dim) == rc::atom14_num,
              "atom14_to_atom37: expected data [..., n_res, 14, ...] for aatype ", aa.sizes(), ", got ",
              atom14_data.sizes());
  const auto& c = constants();
  const auto index = gather_table(c.atom37_to_atom14, aa);    // [..., n_res, 37]
  const auto atom37 = gather_atoms(atom14_data, dim, index);  // [..., n_res, 37, ...]
  return apply_mask(atom37, dim, gather_table(c.atom37_mask, aa));
}

at::Tensor atom37_to_atom14(const at::Tensor& atom37_data, const at::Tensor& aatype) {
  const auto aa = residue_types(aatype);  // [..., n_res]
  const int64_t dim = aa.dim();           // the atom axis of the data
  TORCH_CHECK(atom37_data.dim() > dim && atom37_data.size(dim) == rc::atom_type_num,
              "atom37_to_atom14: expected data [..., n_res, 37, ...] for aatype ", aa.sizes(), ", got ",
              atom37_data.sizes());
  const auto& c = constants();
  const auto index = gather_table(c.atom14_to_atom37, aa);    // [..., n_res, 14]
  const auto atom14 = gather_atoms(atom37_data, dim, index);  // [..., n_res, 14, ...]
  return apply_mask(atom14, dim, gather_table(c.atom14_mask, aa));
}

at::Tensor atom14_mask(const at::Tensor& aatype) {
  return gather_table(constants().atom14_mask, residue_types(aatype));  // [..., n_res, 14]
}

at::Tensor atom37_mask(const at::Tensor& aatype) {
  return gather_table(constants().atom37_mask, residue_types(aatype));  // [..., n_res, 37]
}

RigidGroups atom37_to_frames(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                             const at::Tensor& all_atom_mask) {
  const auto aa = residue_types(aatype);  // [..., n_res]
  TORCH_CHECK(all_atom_positions.dim() == aa.dim() + 2 && all_atom_positions.size(-2) == rc::atom_type_num &&
                  all_atom_positions.size(-1) == 3 && all_atom_mask.dim() == aa.dim() + 1,
              "atom37_to_frames: expected positions [..., n_res, 37, 3] and mask [..., n_res, 37] for aatype ",
              aa.sizes(), ", got ", all_atom_positions.sizes(), " and ", all_atom_mask.sizes());
  const auto& c = constants();
  const auto options = all_atom_positions.options();

  // The three atoms that define each group's frame.
  const auto base = gather_table(c.group_base_atom37, aa).flatten(-2);  // [..., n_res, 24]
  const auto base_pos =
      gather_atoms(all_atom_positions, aa.dim(), base).unflatten(-2, {8, 3});  // [..., n_res, 8, 3, 3]
  Rigid frames =
      Rigid::from_3_points(base_pos.select(-2, 0), base_pos.select(-2, 1), base_pos.select(-2, 2));  // [..., n_res, 8]
  frames.rot = at::matmul(frames.rot, c.backbone_mirror.to(options));  // [..., n_res, 8, 3, 3]

  RigidGroups groups;
  groups.group_exists = gather_table(c.group_exists, aa).to(options);  // [..., n_res, 8]
  const auto base_present =
      at::gather(all_atom_mask.to(options), -1, base).unflatten(-1, {8, 3});       // [..., n_res, 8, 3]
  groups.gt_exists = std::get<0>(base_present.min(-1)) * groups.group_exists;      // [..., n_res, 8]
  groups.group_is_ambiguous = gather_table(c.group_is_ambiguous, aa).to(options);  // [..., n_res, 8]
  const auto ambiguity_rot = gather_table(c.group_ambiguity_rot, aa).to(options);  // [..., n_res, 8, 3, 3]
  groups.alt_frames = {at::matmul(frames.rot, ambiguity_rot), frames.trans};       // [..., n_res, 8]
  groups.frames = std::move(frames);
  return groups;
}

TorsionAngles atom37_to_torsion_angles(const at::Tensor& aatype, const at::Tensor& all_atom_positions,
                                       const at::Tensor& all_atom_mask) {
  const auto aa = at::clamp_max(residue_types(aatype), rc::unk_restype_index);  // [..., n_res]
  TORCH_CHECK(aa.dim() >= 1 && aa.size(-1) >= 1, "atom37_to_torsion_angles: expected aatype [..., n_res], got ",
              aa.sizes());
  TORCH_CHECK(all_atom_positions.dim() == aa.dim() + 2 && all_atom_positions.size(-2) == rc::atom_type_num &&
                  all_atom_positions.size(-1) == 3 && all_atom_mask.dim() == aa.dim() + 1,
              "atom37_to_torsion_angles: expected positions [..., n_res, 37, 3] and mask [..., n_res, 37] for aatype ",
              aa.sizes(), ", got ", all_atom_positions.sizes(), " and ", all_atom_mask.sizes());
  const auto& c = constants();
  const auto& pos = all_atom_positions;                   // [..., n_res, 37, 3]
  const auto mask = all_atom_mask.to(pos.scalar_type());  // [..., n_res, 37]
  const int64_t n_res = aa.size(-1);

  // The previous residue's atoms; zeros before the first residue.
  const auto prev_pos =
      at::cat({at::zeros_like(pos.narrow(-3, 0, 1)), pos.narrow(-3, 0, n_res - 1)}, -3);  // [..., n_res, 37, 3]
  const auto prev_mask =
      at::cat({at::zeros_like(mask.narrow(-2, 0, 1)), mask.narrow(-2, 0, n_res - 1)}, -2);  // [..., n_res, 37]

  // Backbone torsions (atom37: N 0, CA 1, C 2, O 4): omega = CA'-C'-N-CA, phi = C'-N-CA-C, psi via O.
  const auto omega_pos = at::cat({prev_pos.narrow(-2, 1, 2), pos.narrow(-2, 0, 2)}, -2);         // [..., n_res, 4, 3]
  const auto phi_pos = at::cat({prev_pos.narrow(-2, 2, 1), pos.narrow(-2, 0, 3)}, -2);           // [..., n_res, 4, 3]
  const auto psi_pos = at::cat({pos.narrow(-2, 0, 3), pos.narrow(-2, 4, 1)}, -2);                // [..., n_res, 4, 3]
  const auto n_ca_c = mask.narrow(-1, 0, 3).prod(-1);                                            // [..., n_res]
  const auto omega_mask = prev_mask.narrow(-1, 1, 2).prod(-1) * mask.narrow(-1, 0, 2).prod(-1);  // [..., n_res]
  const auto phi_mask = prev_mask.select(-1, 2) * n_ca_c;                                        // [..., n_res]
  const auto psi_mask = n_ca_c * mask.select(-1, 4);                                             // [..., n_res]

  // Side-chain torsions: the residue type's chi atoms, defined where the type has the chi and all 4 atoms exist.
  const auto chi_index = gather_table(c.chi_atom_indices, aa).flatten(-2);                     // [..., n_res, 16]
  const auto chi_pos = gather_atoms(pos, aa.dim(), chi_index).unflatten(-2, {4, 4});           // [..., n_res, 4, 4, 3]
  const auto chi_present = at::gather(mask, -1, chi_index).unflatten(-1, {4, 4}).prod(-1);     // [..., n_res, 4]
  const auto chi_mask = gather_table(c.chi_angles_mask, aa).to(mask.options()) * chi_present;  // [..., n_res, 4]

  const auto torsion_pos = at::cat({omega_pos.unsqueeze(-3), phi_pos.unsqueeze(-3), psi_pos.unsqueeze(-3), chi_pos},
                                   -3);  // [..., n_res, 7, 4, 3]
  TorsionAngles out;
  out.mask = at::cat({omega_mask.unsqueeze(-1), phi_mask.unsqueeze(-1), psi_mask.unsqueeze(-1), chi_mask},
                     -1);  // [..., n_res, 7]

  // Frame with atom 2 at the origin, atom 1 on -x and atom 0 in the xy plane; the 4th atom's (z, y) in that
  // frame are the angle's (sin, cos) up to the norm.
  const Rigid frames = Rigid::from_3_points(torsion_pos.select(-2, 1), torsion_pos.select(-2, 2),
                                            torsion_pos.select(-2, 0));                           // [..., n_res, 7]
  const auto fourth = frames.invert_apply(torsion_pos.select(-2, 3));                             // [..., n_res, 7, 3]
  auto sin_cos = at::stack({fourth.select(-1, 2), fourth.select(-1, 1)}, -1);                     // [..., n_res, 7, 2]
  sin_cos = sin_cos / correctly_rounded_sqrt(sin_cos.square().sum(-1, /*keepdim=*/true) + 1e-8);  // [..., n_res, 7, 2]
  out.sin_cos = sin_cos * c.torsion_mirror.to(sin_cos.options());                                 // [..., n_res, 7, 2]

  // pi-periodic chis (symmetric side chains) flipped: (sin, cos) -> -(sin, cos).
  const auto chi_flip = 1.0 - 2.0 * gather_table(c.chi_pi_periodic, aa).to(sin_cos.options());  // [..., n_res, 4]
  const auto flip = at::cat({at::ones_like(chi_flip.narrow(-1, 0, 3)), chi_flip}, -1);          // [..., n_res, 7]
  out.alt_sin_cos = out.sin_cos * flip.unsqueeze(-1);                                           // [..., n_res, 7, 2]
  return out;
}

}  // namespace kfold::fold

// The structure module (AlphaFold2 Suppl. Alg. 20, 22, 23, 24; folding.StructureModule, monomer).
#include "fold/structure_module.hpp"

#include <ATen/ATen.h>

#include <string>

#include "fold/all_atom.hpp"

namespace kfold::fold {
namespace {

// Haiku's names for the i-th module of one name inside one module call: "name", "name_1", ...
std::string haiku_name(const std::string& name, int64_t i) { return i == 0 ? name : name + "_" + std::to_string(i); }

// x / max(|x|, 1e-6) over the last axis (folding.l2_normalize: epsilon 1e-12 on |x|^2).
at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.square().sum(-1, /*keepdim=*/true).clamp_min(1e-12).sqrt();
}

}  // namespace

MultiRigidSidechain::MultiRigidSidechain(const ParameterScope& scope, const SidechainConfig& c, int64_t c_act,
                                         int64_t c_s)
    : input_projection_(scope / "input_projection", c_act, c.num_channel),
      input_projection_initial_(scope / "input_projection_1", c_s, c.num_channel),
      unnormalized_angles_(scope / "unnormalized_angles", c.num_channel, 14) {
  for (int64_t b = 0; b < c.num_residual_block; ++b) {
    resblock1_.emplace_back(scope / haiku_name("resblock1", b), c.num_channel, c.num_channel);
    resblock2_.emplace_back(scope / haiku_name("resblock2", b), c.num_channel, c.num_channel);
  }
}

SidechainAngles MultiRigidSidechain::forward(const at::Tensor& act, const at::Tensor& initial_act) const {
  // Alg. 20 line 11: a = Linear(relu(s_i)) + Linear(relu(s_initial)).
  auto a = input_projection_.forward(at::relu(act)).add(input_projection_initial_.forward(at::relu(initial_act)));
  // Lines 12-13: residual blocks.
  for (size_t b = 0; b < resblock1_.size(); ++b) {
    const auto update = resblock2_[b].forward(at::relu(resblock1_[b].forward(at::relu(a))));  // [n_res, c]
    a = a.add(update);                                                                        // [n_res, c]
  }
  // Line 14: 7 torsion angles as unnormalised (sin, cos) pairs, then normalised (Alg. 27's
  // normalisation, done at inference too).
  SidechainAngles out;
  out.unnormalized_angles_sin_cos = unnormalized_angles_.forward(at::relu(a)).view({a.size(0), 7, 2});  // [n_res, 7, 2]
  out.angles_sin_cos = l2_normalize(out.unnormalized_angles_sin_cos);                                   // [n_res, 7, 2]
  return out;
}

FoldIteration::FoldIteration(const ParameterScope& scope, const StructureModuleConfig& c, int64_t c_z)
    : ipa_(scope / "invariant_point_attention", c, c_z),
      attention_layer_norm_(scope / "attention_layer_norm", c.num_channel),
      transition_layer_norm_(scope / "transition_layer_norm", c.num_channel),
      affine_update_(scope / "affine_update", c.num_channel, 6) {
  for (int64_t i = 0; i < c.num_layer_in_transition; ++i)
    transition_.emplace_back(scope / haiku_name("transition", i), c.num_channel, c.num_channel);
}

at::Tensor FoldIteration::update_activations(const at::Tensor& act, const at::Tensor& pair, const at::Tensor& mask,
                                             const Rigid& frames) const {
  // Alg. 20 lines 6-7: IPA, residual, LayerNorm (dropout is off at inference).
  auto s = attention_layer_norm_.forward(act.add(ipa_.forward(act, pair, mask, frames)));  // [n_res, c]
  // Lines 8-9: transition (ReLU between its layers), residual, LayerNorm.
  auto t = s;
  for (size_t i = 0; i < transition_.size(); ++i) {
    t = transition_[i].forward(t);  // [n_res, c]
    if (i + 1 < transition_.size()) t = at::relu(t);
  }
  return transition_layer_norm_.forward(t.add(s));  // [n_res, c]
}

StructureModule::StructureModule(const ParameterScope& scope, const StructureModuleConfig& c, int64_t c_s, int64_t c_z)
    : config_(c),
      single_layer_norm_(scope / "single_layer_norm", c_s),
      pair_layer_norm_(scope / "pair_layer_norm", c_z),
      initial_projection_(scope / "initial_projection", c_s, c.num_channel),
      fold_iteration_(scope / "fold_iteration", c, c_z),
      sidechain_(scope / "fold_iteration" / "rigid_sidechain", c.sidechain, c.num_channel, c_s) {}

StructureModuleOutputs StructureModule::forward(const at::Tensor& single, const at::Tensor& pair,
                                                const at::Tensor& seq_mask, const at::Tensor& aatype) const {
  const int64_t n_res = single.size(0);
  const double scale = config_.position_scale;

  // Alg. 20 lines 1-3.
  const auto initial_act = single_layer_norm_.forward(single);  // [n_res, c_s]
  auto act = initial_projection_.forward(initial_act);          // [n_res, c]
  const auto pair_act = pair_layer_norm_.forward(pair);         // [n_res, n_res, c_z]

  // Line 4: identity frames, kept as AlphaFold's QuatAffine: a unit quaternion and a translation in
  // internal units (Angstrom / position_scale).
  auto quaternion = at::zeros({n_res, 4}, single.options());  // [n_res, 4]
  quaternion.select(-1, 0).fill_(1.0);
  auto translation = at::zeros({n_res, 3}, single.options());  // [n_res, 3]
  auto frames = Rigid::identity({n_res}, single.options());    // [n_res]

  std::vector<at::Tensor> traj;
  for (int64_t layer = 0; layer < config_.num_layer; ++layer) {
    act = fold_iteration_.update_activations(act, pair_act, seq_mask, frames);  // [n_res, c]
    // Alg. 23 and QuatAffine.pre_compose: q <- normalise(q + q * (0, b, c, d)); t <- t + R(q) t_update
    // with the rotation before the update.
    const auto update = fold_iteration_.backbone_update(act);  // [n_res, 6]
    const auto new_quaternion = quaternion.add(quaternion_multiply_by_vector(quaternion, update.slice(-1, 0, 3)));
    quaternion = new_quaternion / new_quaternion.norm(2, {-1}, /*keepdim=*/true);                          // [n_res, 4]
    translation = translation.add(at::matmul(frames.rot, update.slice(-1, 3).unsqueeze(-1)).squeeze(-1));  // [n_res, 3]
    frames = Rigid::from_quaternion(quaternion, translation);                                              // [n_res]
    traj.push_back(at::cat({quaternion, translation.mul(scale)}, -1));                                     // [n_res, 7]
  }

  StructureModuleOutputs out;
  out.act = act;                                          // [n_res, c]
  out.traj = at::stack(traj);                             // [num_layer, n_res, 7]
  out.backbone_frames = frames.scale_translation(scale);  // [n_res], Angstrom
  // Alg. 20 lines 11-14 on the last layer (AlphaFold computes them every layer; only the last one
  // reaches the outputs at inference).
  out.angles = sidechain_.forward(act, initial_act);
  // Alg. 24: rigid-group frames and atoms.
  const auto aatype_long = aatype.to(at::kLong);  // [n_res]
  out.sidechain_frames = torsion_angles_to_frames(aatype_long, out.backbone_frames,
                                                  out.angles.angles_sin_cos);  // [n_res, 8]
  out.final_atom14_positions =
      frames_and_literature_positions_to_atom14_pos(aatype_long, out.sidechain_frames);  // [n_res, 14, 3]
  out.final_atom14_mask = atom14_mask(aatype_long).to(single.scalar_type());             // [n_res, 14]
  out.final_atom_mask = atom37_mask(aatype_long).to(single.scalar_type());               // [n_res, 37]
  out.final_atom_positions = atom14_to_atom37(out.final_atom14_positions, aatype_long)
                                 .mul(out.final_atom_mask.unsqueeze(-1));  // [n_res, 37, 3]
  return out;
}

}  // namespace kfold::fold

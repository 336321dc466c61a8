// The structure module (AlphaFold2 Suppl. Alg. 20, folding.StructureModule, monomer): num_layer weight-shared
// iterations of IPA (Alg. 22), transition and backbone update (Alg. 23) on quaternion frames, then torsion
// angles from the angle ResNet (Alg. 20 lines 11-14) and all atoms from frames and angles (Alg. 24).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/invariant_point_attention.hpp"
#include "fold/rigid.hpp"

namespace kfold::fold {

struct SidechainAngles {
  at::Tensor angles_sin_cos;               // [n_res, 7, 2] (sin, cos), unit length
  at::Tensor unnormalized_angles_sin_cos;  // [n_res, 7, 2]
};

// The angle ResNet of Alg. 20 lines 11-14 (folding.MultiRigidSidechain up to the angles). Keys under
// its scope (".../fold_iteration/rigid_sidechain"), c = sidechain.num_channel: input_projection
// [c_act, c] (final activations), input_projection_1 [c_s, c] (initial activations), per residual
// block b: resblock1{,_b} and resblock2{,_b} [c, c], unnormalized_angles [c, 14].
class MultiRigidSidechain {
 public:
  MultiRigidSidechain(const ParameterScope& scope, const SidechainConfig& config, int64_t c_act, int64_t c_s);

  // act [n_res, c_act] (the iteration's single activations), initial_act [n_res, c_s] (the layer-
  // normed input single representation).
  SidechainAngles forward(const at::Tensor& act, const at::Tensor& initial_act) const;

 private:
  Linear input_projection_, input_projection_initial_;
  std::vector<Linear> resblock1_, resblock2_;  // [num_residual_block]
  Linear unnormalized_angles_;
};

// Alg. 20 lines 6-10 and Alg. 23: one iteration (scope ".../structure_module/fold_iteration", shared
// by all layers): IPA, attention_layer_norm, the transition (transition, transition_1, ... [c, c]),
// transition_layer_norm, affine_update [c, 6].
class FoldIteration {
 public:
  FoldIteration(const ParameterScope& scope, const StructureModuleConfig& config, int64_t c_z);

  // act [n_res, c] -> new act [n_res, c] (IPA with `frames`, transition).
  at::Tensor update_activations(const at::Tensor& act, const at::Tensor& pair, const at::Tensor& mask,
                                const Rigid& frames) const;
  // Alg. 23: the [n_res, 6] update (quaternion vector part b, c, d; translation) predicted from act.
  at::Tensor backbone_update(const at::Tensor& act) const { return affine_update_.forward(act); }

 private:
  InvariantPointAttention ipa_;
  LayerNorm attention_layer_norm_, transition_layer_norm_;
  std::vector<Linear> transition_;  // [num_layer_in_transition]
  Linear affine_update_;
};

struct StructureModuleOutputs {
  at::Tensor final_atom_positions;    // [n_res, 37, 3] Angstrom, zero where the atom does not exist
  at::Tensor final_atom_mask;         // [n_res, 37] 1 where the residue type has the atom
  at::Tensor final_atom14_positions;  // [n_res, 14, 3] Angstrom, zero where the atom does not exist
  at::Tensor final_atom14_mask;       // [n_res, 14] 1 where the residue type has the atom
  at::Tensor act;                     // [n_res, c] final single activations (the pLDDT head's input)
  at::Tensor traj;                    // [num_layer, n_res, 7] per layer: unit quaternion (w, x, y, z),
                                      // translation (Angstrom)
  Rigid backbone_frames;              // [n_res] the last layer's backbone frames (Angstrom)
  SidechainAngles angles;             // the last layer's torsion angles: [n_res, 7, 2] each
  Rigid sidechain_frames;             // [n_res, 8] the last layer's rigid-group frames (Angstrom)
};

// Scope "alphafold/alphafold_iteration/structure_module": single_layer_norm [c_s],
// initial_projection [c_s, c], pair_layer_norm [c_z], fold_iteration/... (c = num_channel).
class StructureModule {
 public:
  StructureModule(const ParameterScope& scope, const StructureModuleConfig& config, int64_t c_s, int64_t c_z);

  // single [n_res, c_s], pair [n_res, n_res, c_z] (the Evoformer's outputs), seq_mask [n_res] float,
  // aatype [n_res] integer (0..20).
  StructureModuleOutputs forward(const at::Tensor& single, const at::Tensor& pair, const at::Tensor& seq_mask,
                                 const at::Tensor& aatype) const;

 private:
  StructureModuleConfig config_;
  LayerNorm single_layer_norm_, pair_layer_norm_;
  Linear initial_projection_;
  FoldIteration fold_iteration_;
  MultiRigidSidechain sidechain_;
};

}  // namespace kfold::fold

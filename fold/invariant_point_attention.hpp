// Invariant point attention (AlphaFold2 Suppl. Alg. 22, folding.InvariantPointAttention): attention whose
// logits mix scalar query-key products, distances between points placed by each residue's frame and a pair
// bias; scalar, point (back in the local frame) and pair results are concatenated and projected.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/rigid.hpp"

namespace kfold::fold {

// Keys under its scope (".../structure_module/fold_iteration/invariant_point_attention"), with
// c_s = num_channel, h = num_head and AlphaFold's sizes n_qk = num_scalar_qk, n_v = num_scalar_v,
// p_qk = num_point_qk, p_v = num_point_v:
//   q_scalar [c_s, h*n_qk], kv_scalar [c_s, h*(n_qk+n_v)], q_point_local [c_s, 3*h*p_qk],
//   kv_point_local [c_s, 3*h*(p_qk+p_v)], "//trainable_point_weights" [h], attention_2d [c_z, h],
//   output_projection [h*(n_v + 4*p_v + c_z), c_s] (each Linear with weights and bias).
class InvariantPointAttention {
 public:
  InvariantPointAttention(const ParameterScope& scope, const StructureModuleConfig& config, int64_t c_z);

  // single [n_res, c_s], pair [n_res, n_res, c_z], mask [n_res] (1 = attends and is attended),
  // frames [n_res] (translations in AlphaFold's internal units: Angstrom / position_scale)
  // -> [n_res, c_s].
  at::Tensor forward(const at::Tensor& single, const at::Tensor& pair, const at::Tensor& mask,
                     const Rigid& frames) const;

 private:
  int64_t n_head_, n_scalar_qk_, n_scalar_v_, n_point_qk_, n_point_v_;
  double scalar_weight_;      // sqrt(1 / (3 n_qk))
  at::Tensor point_weights_;  // [h]: sqrt(1 / (3 * 9/2 p_qk)) * softplus(trainable_point_weights)
  Linear q_scalar_, kv_scalar_, q_point_local_, kv_point_local_;
  Linear attention_2d_, output_projection_;
};

}  // namespace kfold::fold

// Invariant point attention (AlphaFold2 Suppl. Alg. 22).
#include "fold/invariant_point_attention.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace kfold::fold {
namespace {

// Each term's logits get variance 1/3 (scalar, point, pair): AlphaFold's w_C and w_L.
constexpr double kNumLogitTerms = 3.0;
constexpr double kDistEpsilon = 1e-8;  // inside the sqrt of the output point norms
constexpr double kMaskLogit = 1e5;     // IPA's mask bias (not the 1e9 of the Evoformer's attention)

}  // namespace

InvariantPointAttention::InvariantPointAttention(const ParameterScope& scope, const StructureModuleConfig& c,
                                                 int64_t c_z)
    : n_head_(c.num_head),
      n_scalar_qk_(c.num_scalar_qk),
      n_scalar_v_(c.num_scalar_v),
      n_point_qk_(c.num_point_qk),
      n_point_v_(c.num_point_v),
      scalar_weight_(std::sqrt(1.0 / (kNumLogitTerms * static_cast<double>(std::max<int64_t>(c.num_scalar_qk, 1))))),
      q_scalar_(scope / "q_scalar", c.num_channel, c.num_head * c.num_scalar_qk),
      kv_scalar_(scope / "kv_scalar", c.num_channel, c.num_head * (c.num_scalar_qk + c.num_scalar_v)),
      q_point_local_(scope / "q_point_local", c.num_channel, 3 * c.num_head * c.num_point_qk),
      kv_point_local_(scope / "kv_point_local", c.num_channel, 3 * c.num_head * (c.num_point_qk + c.num_point_v)),
      attention_2d_(scope / "attention_2d", c_z, c.num_head),
      output_projection_(scope / "output_projection", c.num_head * (c.num_scalar_v + 4 * c.num_point_v + c_z),
                         c.num_channel) {
  // Each point pair contributes Var[0.5 |q|^2 - <q, k>] = 9/2 (AlphaFold's derivation).
  const double point_variance = static_cast<double>(std::max<int64_t>(c.num_point_qk, 1)) * 9.0 / 2.0;
  point_weights_ = at::softplus(scope.get("trainable_point_weights", {c.num_head}))
                       .mul(std::sqrt(1.0 / (kNumLogitTerms * point_variance)));  // [h]
}

at::Tensor InvariantPointAttention::forward(const at::Tensor& single, const at::Tensor& pair, const at::Tensor& mask,
                                            const Rigid& frames) const {
  const int64_t n_res = single.size(0), h = n_head_;
  const int64_t n_qk = n_scalar_qk_, n_v = n_scalar_v_, p_qk = n_point_qk_, p_v = n_point_v_;

  // Scalar queries, keys, values (Alg. 22 line 1); the query carries the scalar weight w_C.
  const auto q =
      q_scalar_.forward(single).view({n_res, h, n_qk}).mul(scalar_weight_).transpose(0, 1);  // [h, n_res, n_qk]
  const auto kv = kv_scalar_.forward(single).view({n_res, h, n_qk + n_v});                   // [n_res, h, n_qk + n_v]
  const auto k = kv.slice(-1, 0, n_qk).transpose(0, 1);                                      // [h, n_res, n_qk]
  const auto v = kv.slice(-1, n_qk).transpose(0, 1);                                         // [h, n_res, n_v]

  // Points (Alg. 22 line 2): the projection's channels are laid out [3 (xyz), h, points]; each
  // residue's frame places its points in the global frame.
  const auto point_frames = frames.unsqueeze(-1).unsqueeze(-1);  // [n_res, 1, 1]
  const auto q_point = point_frames.apply(
      q_point_local_.forward(single).view({n_res, 3, h, p_qk}).permute({0, 2, 3, 1}));  // [n_res, h, p_qk, 3]
  const auto kv_point = point_frames.apply(kv_point_local_.forward(single)
                                               .view({n_res, 3, h, p_qk + p_v})
                                               .permute({0, 2, 3, 1}));  // [n_res, h, p_qk+p_v, 3]
  const auto q_pt = q_point.permute({1, 0, 2, 3});                       // [h, n_res, p_qk, 3]
  const auto k_pt = kv_point.slice(2, 0, p_qk).permute({1, 0, 2, 3});    // [h, n_res, p_qk, 3]
  const auto v_pt = kv_point.slice(2, p_qk).permute({1, 0, 2, 3});       // [h, n_res, p_v, 3]

  // Logits (Alg. 22 line 7): scalar term, point term -w_L/2 * gamma_h * sum_p |q_p - k_p|^2 (one
  // point at a time: no [h, n_res, n_res, p_qk, 3] temporary), pair bias w_L * b, mask bias.
  auto logits = at::matmul(q, k.transpose(-1, -2));  // [h, n_res, n_res]
  auto dist2 = at::zeros_like(logits);               // [h, n_res, n_res]
  for (int64_t p = 0; p < p_qk; ++p) {
    const auto diff = q_pt.select(2, p).unsqueeze(2) - k_pt.select(2, p).unsqueeze(1);  // [h, n_res, n_res, 3]
    dist2.add_(diff.square().sum(-1));
  }
  logits.add_(dist2.mul_(point_weights_.view({h, 1, 1}).mul(-0.5)));
  logits.add_(attention_2d_.forward(pair).permute({2, 0, 1}), std::sqrt(1.0 / kNumLogitTerms));  // [h, n_res, n_res]
  const auto mask_2d = mask.unsqueeze(1).mul(mask.unsqueeze(0));                                 // [n_res, n_res]
  logits.sub_(mask_2d.neg().add(1.0).mul(kMaskLogit));
  const auto attn = at::softmax(logits, -1);  // [h, n_res, n_res]

  // Scalar result (line 10): [n_res, h * n_v].
  const auto result_scalar = at::matmul(attn, v).transpose(0, 1).reshape({n_res, h * n_v});
  // Point result in the global frame, then in each query's local frame (line 11).
  const auto result_global = at::matmul(attn, v_pt.reshape({h, n_res, p_v * 3}))
                                 .view({h, n_res, p_v, 3})
                                 .transpose(0, 1);                                  // [n_res, h, p_v, 3]
  const auto result_local = point_frames.invert_apply(result_global);               // [n_res, h, p_v, 3]
  const auto result_norm = result_local.square().sum(-1).add(kDistEpsilon).sqrt();  // [n_res, h, p_v]
  // Pair result (line 9): sum_j a_hij z_ij -> [n_res, h, c_z].
  const auto result_pair = at::matmul(attn.transpose(0, 1), pair);  // [n_res, h, c_z]

  const auto features = at::cat(
      {result_scalar, result_local.select(-1, 0).reshape({n_res, h * p_v}),
       result_local.select(-1, 1).reshape({n_res, h * p_v}), result_local.select(-1, 2).reshape({n_res, h * p_v}),
       result_norm.reshape({n_res, h * p_v}), result_pair.reshape({n_res, -1})},
      -1);                                      // [n_res, h * (n_v + 4 p_v + c_z)]
  return output_projection_.forward(features);  // [n_res, c_s]
}

}  // namespace kfold::fold

// Triangle gated self-attention around the starting node (Suppl. Alg. 13) / ending node (Alg. 14).
#include "fold/triangle_attention.hpp"

#include <ATen/ops/matmul.h>

#include "data/error.hpp"

namespace kfold::fold {

TriangleAttention::TriangleAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_z)
    : per_column_(config.orientation == "per_column"),
      query_norm_(scope / "query_norm", c_z),
      feat_2d_weights_(scope.get("feat_2d_weights", {c_z, config.num_head})),
      attention_(scope / "attention", config, c_z, c_z, c_z) {
  if (config.orientation != "per_row" && config.orientation != "per_column")
    fail_input("{}: orientation '{}', expected per_row or per_column", scope.prefix(), config.orientation);
}

at::Tensor TriangleAttention::forward(const at::Tensor& pair, const at::Tensor& pair_mask,
                                      const RunOptions& options) const {
  // Ending node: the same computation on the transposed pair.
  const auto z_in = per_column_ ? pair.transpose(0, 1) : pair;                               // [n_res, n_res, c_z]
  const auto mask = per_column_ ? pair_mask.transpose(0, 1) : pair_mask;                     // [n_res, n_res]
  const auto z = query_norm_.forward(z_in);                                                  // [n_res, n_res, c_z]
  const auto bias = at::matmul(z, feat_2d_weights_.to(z.scalar_type())).permute({2, 0, 1});  // [n_head, n_res, n_res]
  const auto out = attention_.forward(z, z, mask, bias, options);                            // [n_res, n_res, c_z]
  return per_column_ ? out.transpose(0, 1) : out;                                            // [n_res, n_res, c_z]
}

}  // namespace kfold::fold

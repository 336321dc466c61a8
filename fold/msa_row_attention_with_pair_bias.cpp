// MSA row-wise gated self-attention with pair bias (AlphaFold2 Suppl. Alg. 7).
#include "fold/msa_row_attention_with_pair_bias.hpp"

#include <ATen/ops/matmul.h>

#include "data/error.hpp"

namespace kfold::fold {

MSARowAttentionWithPairBias::MSARowAttentionWithPairBias(const ParameterScope& scope, const AttentionConfig& config,
                                                         int64_t c_m, int64_t c_z)
    : query_norm_(scope / "query_norm", c_m),
      feat_2d_norm_(scope / "feat_2d_norm", c_z),
      feat_2d_weights_(scope.get("feat_2d_weights", {c_z, config.num_head})),
      attention_(scope / "attention", config, c_m, c_m, c_m) {
  if (config.orientation != "per_row")
    fail_input("{}: orientation '{}', expected per_row", scope.prefix(), config.orientation);
}

at::Tensor MSARowAttentionWithPairBias::forward(const at::Tensor& msa, const at::Tensor& msa_mask,
                                                const at::Tensor& pair, const RunOptions& options) const {
  const auto m = query_norm_.forward(msa);                                                   // [n_seq, n_res, c_m]
  const auto z = feat_2d_norm_.forward(pair);                                                // [n_res, n_res, c_z]
  const auto bias = at::matmul(z, feat_2d_weights_.to(z.scalar_type())).permute({2, 0, 1});  // [n_head, n_res, n_res]
  return attention_.forward(m, m, msa_mask, bias, options);                                  // [n_seq, n_res, c_m]
}

}  // namespace kfold::fold

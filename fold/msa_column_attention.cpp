// MSA column-wise gated self-attention (AlphaFold2 Suppl. Alg. 8).
#include "fold/msa_column_attention.hpp"

#include <ATen/core/Tensor.h>

#include "data/error.hpp"

namespace kfold::fold {

MSAColumnAttention::MSAColumnAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_m)
    : query_norm_(scope / "query_norm", c_m), attention_(scope / "attention", config, c_m, c_m, c_m) {
  if (config.orientation != "per_column")
    fail_input("{}: orientation '{}', expected per_column", scope.prefix(), config.orientation);
}

at::Tensor MSAColumnAttention::forward(const at::Tensor& msa, const at::Tensor& msa_mask,
                                       const RunOptions& options) const {
  const auto m = query_norm_.forward(msa.transpose(0, 1));                       // [n_res, n_seq, c_m]
  const auto mask = msa_mask.transpose(0, 1);                                    // [n_res, n_seq]
  return attention_.forward(m, m, mask, at::Tensor(), options).transpose(0, 1);  // [n_seq, n_res, c_m]
}

}  // namespace kfold::fold

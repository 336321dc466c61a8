// MSA column-wise global attention (AlphaFold2 Suppl. Alg. 19).
#include "fold/msa_column_global_attention.hpp"

#include <ATen/core/Tensor.h>

#include "data/error.hpp"

namespace kfold::fold {

MSAColumnGlobalAttention::MSAColumnGlobalAttention(const ParameterScope& scope, const AttentionConfig& config,
                                                   int64_t c_e)
    : query_norm_(scope / "query_norm", c_e), attention_(scope / "attention", config, c_e, c_e) {
  if (config.orientation != "per_column")
    fail_input("{}: orientation '{}', expected per_column", scope.prefix(), config.orientation);
}

at::Tensor MSAColumnGlobalAttention::forward(const at::Tensor& msa, const at::Tensor& msa_mask,
                                             const RunOptions& options) const {
  const auto m = query_norm_.forward(msa.transpose(0, 1));      // [n_res, n_seq, c_e]
  const auto mask = msa_mask.transpose(0, 1);                   // [n_res, n_seq]
  return attention_.forward(m, mask, options).transpose(0, 1);  // [n_seq, n_res, c_e]
}

}  // namespace kfold::fold

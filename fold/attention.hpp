// Multi-head attention as AlphaFold's modules.Attention (gated, with a pair bias) and
// modules.GlobalAttention (Suppl. Alg. 19 lines 2-7), plus the one function every attention with a
// pair bias goes through (MSA row attention Alg. 7, column attention Alg. 8, triangle attention
// Alg. 13/14): the fused kernel (kernels/attention_pair_bias) or its reference, per RunOptions::attention_kernel.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/run_options.hpp"
#include "fold/weights.hpp"

namespace kfold::fold {

// softmax_j(q_i . k_j / sqrt(D) + 1e9 * (mask_j - 1) + bias_ij) v_j for every batch b, row r, head h:
//   q [B, R, S_q, H, D], k [B, R, S_k, H, D], v [B, R, S_k, H, D_v] (unscaled projections),
//   bias [B, H, S_q, S_k] shared by the R rows (or undefined), mask [B, R, S_k] (1 keep, 0 drop; or
//   undefined)  ->  [B, R, S_q, H, D_v].
// Same semantics as kfold::attention_pair_bias (kernels/attention_pair_bias.hpp);
// options.attention_kernel picks the implementation (Attention::forward does the row chunking).
at::Tensor attention_with_pair_bias(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& bias, const at::Tensor& mask, const RunOptions& options);

// AlphaFold's Attention: q/k/v projections "<scope>//query_w" [c_q, H, D], "key_w" [c_m, H, D],
// "value_w" [c_m, H, D_v], optional gating "gating_w" [c_q, H, D_v] + "gating_b" [H, D_v], output
// "output_w" [H, D_v, c_out] + "output_b" [c_out].
class Attention {
 public:
  Attention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_q, int64_t c_m, int64_t c_out);

  // q_data [R, S_q, c_q], m_data [R, S_k, c_m], mask [R, S_k] over the keys (or undefined),
  // bias [H, S_q, S_k] (or undefined) -> [R, S_q, c_out]. With options.chunk_size > 0, chunk_size rows
  // at a time through the whole module.
  at::Tensor forward(const at::Tensor& q_data, const at::Tensor& m_data, const at::Tensor& mask, const at::Tensor& bias,
                     const RunOptions& options) const;

  int64_t n_head() const { return n_head_; }

 private:
  // forward() for all the rows it is given at once.
  at::Tensor forward_rows(const at::Tensor& q_data, const at::Tensor& m_data, const at::Tensor& mask,
                          const at::Tensor& bias, const RunOptions& options) const;

  int64_t n_head_, key_dim_, value_dim_;  // per head
  Linear query_, key_, value_;            // no bias; weights [c, H * D]
  Linear gating_;                         // [c_q, H * D_v] + [H * D_v]; absent without gating
  Linear output_;                         // [H * D_v, c_out] + [c_out]
  bool gating_on_;
};

// AlphaFold's GlobalAttention: one query per row (the masked mean over S), one shared key and value
// head. Keys: "query_w" [c, H, D], "key_w" [c, D], "value_w" [c, D_v], gating as Attention,
// "output_w" [H, D_v, c_out], "output_b" [c_out].
class GlobalAttention {
 public:
  GlobalAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c, int64_t c_out);

  // x [R, S, c] (queries and memories), mask [R, S] -> [R, S, c_out]; options.chunk_size rows at a time.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, const RunOptions& options) const;

 private:
  at::Tensor forward_rows(const at::Tensor& x, const at::Tensor& mask) const;

  int64_t n_head_, key_dim_, value_dim_;
  Linear query_, key_, value_, gating_, output_;
  bool gating_on_;
};

}  // namespace kfold::fold

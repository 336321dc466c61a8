// Multi-head attention (AlphaFold's Attention and GlobalAttention, Suppl. Alg. 7, 8, 13, 14, 19)
// and the plain libtorch attention with a pair bias.
#include "fold/attention.hpp"

#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>

#include "data/error.hpp"
#include "kernels/attention_pair_bias.hpp"

namespace kfold::fold {
namespace {

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                               const at::Tensor& mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const auto qh = q.mul(scale).permute({0, 1, 3, 2, 4});                               // [B, R, H, S_q, D]
  const auto kh = k.permute({0, 1, 3, 4, 2});                                          // [B, R, H, D, S_k]
  const auto vh = v.permute({0, 1, 3, 2, 4});                                          // [B, R, H, S_k, D_v]
  auto logits = at::matmul(qh, kh);                                                    // [B, R, H, S_q, S_k]
  if (mask.defined()) logits = logits.add(mask_bias(mask).unsqueeze(2).unsqueeze(3));  // + [B, R, 1, 1, S_k]
  if (bias.defined()) logits = logits.add(bias.unsqueeze(1));                          // + [B, 1, H, S_q, S_k]
  const auto weights = at::softmax(logits, -1);                                        // [B, R, H, S_q, S_k]
  return at::matmul(weights, vh).permute({0, 1, 3, 2, 4});                             // [B, R, S_q, H, D_v]
}

// kfold::attention_pair_bias computes self-attention with equal key and value head sizes.
bool fused_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return q.size(2) == k.size(2) && k.size(2) == v.size(2) && q.size(-1) == v.size(-1);
}

at::Tensor attention_fused(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                           const at::Tensor& mask) {
  const int64_t b = q.size(0), s = q.size(2), h = q.size(3);
  // The op always takes a bias: attention without one (MSA column attention) gets zeros.
  const auto pair_bias = bias.defined() ? bias.expand({b, h, s, s}) : at::zeros({b, h, s, s}, q.options());
  const auto key_mask = mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt;
  return std::get<0>(kernels::attention_pair_bias(q, k, v, pair_bias, key_mask));  // [B, R, S, H, D]
}

}  // namespace

at::Tensor attention_with_pair_bias(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& bias, const at::Tensor& mask, const RunOptions& options) {
  TORCH_CHECK(q.dim() == 5 && k.dim() == 5 && v.dim() == 5,
              "attention_with_pair_bias: q, k, v must be [B, R, S, H, D]");
  const bool fused = options.attention_kernel == AttentionKernel::fused && fused_applies(q, k, v);
  return fused ? attention_fused(q, k, v, bias, mask) : attention_reference(q, k, v, bias, mask);
}

namespace {

// Per-head dimension from AlphaFold's total key_dim / value_dim (default: the input's channels).
int64_t head_dim(const std::optional<int64_t>& total, int64_t channels, int64_t n_head, const std::string& scope) {
  const int64_t dim = total.value_or(channels);
  if (n_head <= 0 || dim % n_head != 0)
    fail_input(
        "attention '{}': {} channels do not split into {} heads: the model config (a --config file's overrides) "
        "must give this module a num_head that divides its channels (key_dim/value_dim, else the input's)",
        scope, dim, n_head);
  return dim / n_head;
}

Linear head_projection(const ParameterScope& scope, std::string_view name, int64_t c, int64_t n_head, int64_t d) {
  return Linear(scope.get(name, {c, n_head, d}).reshape({c, n_head * d}), at::Tensor());
}

}  // namespace

Attention::Attention(const ParameterScope& scope, const AttentionConfig& config, int64_t c_q, int64_t c_m,
                     int64_t c_out)
    : n_head_(config.num_head),
      key_dim_(head_dim(config.key_dim, c_q, config.num_head, scope.prefix())),
      value_dim_(head_dim(config.value_dim, c_m, config.num_head, scope.prefix())),
      query_(head_projection(scope, "query_w", c_q, n_head_, key_dim_)),
      key_(head_projection(scope, "key_w", c_m, n_head_, key_dim_)),
      value_(head_projection(scope, "value_w", c_m, n_head_, value_dim_)),
      output_(scope.get("output_w", {n_head_, value_dim_, c_out}).reshape({n_head_ * value_dim_, c_out}),
              scope.get("output_b", {c_out})),
      gating_on_(config.gating) {
  if (gating_on_)
    gating_ = Linear(scope.get("gating_w", {c_q, n_head_, value_dim_}).reshape({c_q, n_head_ * value_dim_}),
                     scope.get("gating_b", {n_head_, value_dim_}).reshape({n_head_ * value_dim_}));
}

at::Tensor Attention::forward(const at::Tensor& q_data, const at::Tensor& m_data, const at::Tensor& mask,
                              const at::Tensor& bias, const RunOptions& options) const {
  const int64_t n_row = q_data.size(0);
  if (options.chunk_size <= 0 || options.chunk_size >= n_row) return forward_rows(q_data, m_data, mask, bias, options);
  // Row chunks through the whole module (projections, attention, gating, output): the rows are
  // independent given the shared bias, so only the output is ever whole.
  auto out = at::empty({n_row, q_data.size(1), output_.c_out()}, q_data.options());  // [R, S_q, c_out]
  for (int64_t r = 0; r < n_row; r += options.chunk_size) {
    const int64_t n = std::min(options.chunk_size, n_row - r);
    out.narrow(0, r, n).copy_(forward_rows(q_data.narrow(0, r, n), m_data.narrow(0, r, n),
                                           mask.defined() ? mask.narrow(0, r, n) : mask, bias, options));
  }
  return out;
}

at::Tensor Attention::forward_rows(const at::Tensor& q_data, const at::Tensor& m_data, const at::Tensor& mask,
                                   const at::Tensor& bias, const RunOptions& options) const {
  const int64_t n_row = q_data.size(0), s_q = q_data.size(1), s_k = m_data.size(1);
  const auto q = query_.forward(q_data).view({1, n_row, s_q, n_head_, key_dim_});    // [1, R, S_q, H, D]
  const auto k = key_.forward(m_data).view({1, n_row, s_k, n_head_, key_dim_});      // [1, R, S_k, H, D]
  const auto v = value_.forward(m_data).view({1, n_row, s_k, n_head_, value_dim_});  // [1, R, S_k, H, D_v]
  auto out = attention_with_pair_bias(q, k, v, bias.defined() ? bias.unsqueeze(0) : bias,
                                      mask.defined() ? mask.unsqueeze(0) : mask, options)
                 .reshape({n_row, s_q, n_head_ * value_dim_});                        // [R, S_q, H * D_v]
  if (gating_on_) out = out.mul(sigmoid_thread_invariant_(gating_.forward(q_data)));  // [R, S_q, H * D_v]
  return output_.forward(out);                                                        // [R, S_q, c_out]
}

GlobalAttention::GlobalAttention(const ParameterScope& scope, const AttentionConfig& config, int64_t c, int64_t c_out)
    : n_head_(config.num_head),
      key_dim_(head_dim(config.key_dim, c, config.num_head, scope.prefix())),
      value_dim_(head_dim(config.value_dim, c, config.num_head, scope.prefix())),
      query_(head_projection(scope, "query_w", c, n_head_, key_dim_)),
      key_(scope.get("key_w", {c, key_dim_}), at::Tensor()),
      value_(scope.get("value_w", {c, value_dim_}), at::Tensor()),
      output_(scope.get("output_w", {n_head_, value_dim_, c_out}).reshape({n_head_ * value_dim_, c_out}),
              scope.get("output_b", {c_out})),
      gating_on_(config.gating) {
  if (gating_on_)
    gating_ = Linear(scope.get("gating_w", {c, n_head_, value_dim_}).reshape({c, n_head_ * value_dim_}),
                     scope.get("gating_b", {n_head_, value_dim_}).reshape({n_head_ * value_dim_}));
}

at::Tensor GlobalAttention::forward(const at::Tensor& x, const at::Tensor& mask, const RunOptions& options) const {
  const int64_t n_row = x.size(0);
  if (options.chunk_size <= 0 || options.chunk_size >= n_row) return forward_rows(x, mask);
  // Rows are independent (each its own mean query): chunks through the whole module, the output alone whole.
  auto out = at::empty({n_row, x.size(1), output_.c_out()}, x.options());  // [R, S, c_out]
  for (int64_t r = 0; r < n_row; r += options.chunk_size) {
    const int64_t n = std::min(options.chunk_size, n_row - r);
    out.narrow(0, r, n).copy_(forward_rows(x.narrow(0, r, n), mask.narrow(0, r, n)));
  }
  return out;
}

at::Tensor GlobalAttention::forward_rows(const at::Tensor& x, const at::Tensor& mask) const {
  const int64_t n_row = x.size(0), s = x.size(1);
  const auto m = mask.unsqueeze(-1);  // [R, S, 1]
  // The masked mean over S in float32 (row counts above 256 are not exact in bfloat16).
  const auto q_avg =
      m.mul(x).sum(1, false, at::kFloat).div(m.sum(1, false, at::kFloat).add(1e-10)).to(x.scalar_type());  // [R, c]
  const auto q = query_.forward(q_avg)
                     .view({n_row, n_head_, key_dim_})
                     .mul(1.0 / std::sqrt(static_cast<double>(key_dim_)));                 // [R, H, D]
  const auto k = key_.forward(x);                                                          // [R, S, D]
  const auto v = value_.forward(x);                                                        // [R, S, D_v]
  const auto logits = at::matmul(q, k.transpose(1, 2)).add(mask_bias(mask).unsqueeze(1));  // [R, H, S]
  const auto weights = at::softmax(logits, -1);                                            // [R, H, S]
  const auto weighted_avg = at::matmul(weights, v);                                        // [R, H, D_v]
  if (!gating_on_) {
    const auto out = output_.forward(weighted_avg.reshape({n_row, n_head_ * value_dim_}));  // [R, c_out]
    return out.unsqueeze(1).expand({n_row, s, out.size(-1)});                               // [R, S, c_out]
  }
  const auto gate =
      sigmoid_thread_invariant_(gating_.forward(x)).view({n_row, s, n_head_, value_dim_});  // [R, S, H, D_v]
  const auto gated = weighted_avg.unsqueeze(1).mul(gate);                                   // [R, S, H, D_v]
  return output_.forward(gated.reshape({n_row, s, n_head_ * value_dim_}));                  // [R, S, c_out]
}

}  // namespace kfold::fold

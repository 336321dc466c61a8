// Helpers shared by the attention_pair_bias tests: random inputs, the op through the dispatcher,
// and tensor comparisons that report the worst element.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <tuple>

#include "kernels/attention_pair_bias.hpp"

namespace kfold::test {

struct AttentionInputs {
  at::Tensor q, k, v;              // [B, R, S, H, D]
  at::Tensor bias;                 // [B, H, S, S]
  std::optional<at::Tensor> mask;  // [B, R, S]
};

struct AttentionShape {
  int64_t B, R, S, H, D;
};

inline std::string describe(const AttentionShape& s) {
  return "B=" + std::to_string(s.B) + " R=" + std::to_string(s.R) + " S=" + std::to_string(s.S) +
         " H=" + std::to_string(s.H) + " D=" + std::to_string(s.D);
}

// Random inputs (fixed seed). With `with_mask`, about a fifth of the keys are masked, and, when
// `fully_masked_row` is set, row r = 0 of batch 0 has every key masked.
inline AttentionInputs make_attention_inputs(const AttentionShape& s, at::TensorOptions options, bool with_mask,
                                             bool fully_masked_row = false, uint64_t seed = 7) {
  at::manual_seed(seed);
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  AttentionInputs in;
  in.q = at::randn({s.B, s.R, s.S, s.H, s.D}, f32).to(options);
  in.k = at::randn({s.B, s.R, s.S, s.H, s.D}, f32).to(options);
  in.v = at::randn({s.B, s.R, s.S, s.H, s.D}, f32).to(options);
  in.bias = at::randn({s.B, s.H, s.S, s.S}, f32).to(options);
  if (with_mask) {
    auto mask = (at::rand({s.B, s.R, s.S}, f32) > 0.2).to(at::kFloat);  // [B, R, S]
    if (fully_masked_row) mask.select(0, 0).select(0, 0).zero_();
    in.mask = mask.to(options.device());
  }
  return in;
}

// The registered op, found by name through the dispatcher (as any caller of the torch library would).
inline std::tuple<at::Tensor, at::Tensor> call_attention_op(const AttentionInputs& in) {
  static auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("kfold::attention_pair_bias", "")
          .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                    const at::Tensor&, const std::optional<at::Tensor>&)>();
  return op.call(in.q, in.k, in.v, in.bias, in.mask);
}

// The registered backward op (grad_q, grad_k, grad_v, grad_bias) through the dispatcher.
inline std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> call_attention_backward_op(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const AttentionInputs& in,
    const at::Tensor& out, const at::Tensor& lse) {
  return kernels::attention_pair_bias_backward(grad_out, grad_lse, in.q, in.k, in.v, in.bias, in.mask, out, lse);
}

inline std::tuple<at::Tensor, at::Tensor> call_attention_reference(const AttentionInputs& in) {
  return kernels::attention_pair_bias_reference(in.q, in.k, in.v, in.bias, in.mask);
}

// max |a - b| (computed in fp64 on the CPU).
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kCPU).to(at::kDouble) - b.to(at::kCPU).to(at::kDouble)).abs().max().item<double>();
}

// Checks |a - b| <= atol + rtol * |b| element-wise, naming `what` and the worst difference on failure.
inline void check_close(const at::Tensor& a, const at::Tensor& b, double atol, double rtol, const std::string& what) {
  REQUIRE(a.sizes() == b.sizes());
  if (a.numel() == 0) return;
  const auto ad = a.to(at::kCPU).to(at::kDouble), bd = b.to(at::kCPU).to(at::kDouble);
  const auto excess = ((ad - bd).abs() - (atol + rtol * bd.abs())).max().item<double>();
  INFO(what << ": max |diff| = " << max_abs_diff(a, b) << " (atol " << atol << ", rtol " << rtol << ")");
  CHECK(excess <= 0.0);
}

}  // namespace kfold::test

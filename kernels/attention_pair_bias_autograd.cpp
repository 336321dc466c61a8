// Autograd for kfold::attention_pair_bias: saves the inputs, out and lse, and calls the
// kfold::attention_pair_bias_backward op (the fused CPU or CUDA kernel) in backward.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <algorithm>

#include "kernels/attention_pair_bias.hpp"

namespace kfold::kernels {

int attention_pair_bias_autograd_linked() { return 1; }

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class AttentionPairBiasFunction : public torch::autograd::Function<AttentionPairBiasFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& bias, const std::optional<at::Tensor>& mask) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [out, lse] = attention_pair_bias(q, k, v, bias, mask);  // redispatches below autograd
    // The mask as a saved variable too (undefined when absent): version-tracked, so an in-place change
    // between forward and backward is an error, not silently wrong gradients.
    ctx->save_for_backward({q, k, v, bias, out, lse, mask.has_value() ? *mask : at::Tensor()});
    return {out, lse};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    // The backward op has no derivative of its own: a second derivative would come out as zeros.
    TORCH_CHECK(!at::GradMode::is_enabled() || std::none_of(saved.begin(), saved.begin() + 4,
                                                            [](const at::Tensor& t) { return t.requires_grad(); }),
                "kfold::attention_pair_bias: no double backward (create_graph=True through the fused attention); "
                "use the reference attention (--attention reference, attention=\"reference\") for higher derivatives");
    const auto& out = saved[4];
    const std::optional<at::Tensor> mask = saved[6].defined() ? std::optional<at::Tensor>(saved[6]) : std::nullopt;
    const at::Tensor grad_out = grads[0].defined() ? grads[0] : at::zeros_like(out);
    std::optional<at::Tensor> grad_lse;
    if (grads[1].defined()) grad_lse = grads[1];
    auto [grad_q, grad_k, grad_v, grad_bias] =
        attention_pair_bias_backward(grad_out, grad_lse, saved[0], saved[1], saved[2], saved[3], mask, out, saved[5]);
    return {grad_q, grad_k, grad_v, grad_bias, at::Tensor()};
  }
};

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_autograd(const at::Tensor& q, const at::Tensor& k,
                                                                const at::Tensor& v, const at::Tensor& bias,
                                                                const std::optional<at::Tensor>& mask) {
  auto outputs = AttentionPairBiasFunction::apply(q, k, v, bias, mask);
  return {outputs[0], outputs[1]};
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, Autograd, m) { m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_autograd); }

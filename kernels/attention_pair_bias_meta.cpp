// Meta kernels of the attention_pair_bias ops: output shapes and dtypes without data, for tracing with fake
// tensors (torch.compile, torch.export from Python: the op was refused there), after the same argument checks
// as the CPU and CUDA kernels.
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <tuple>

#include "kernels/attention_pair_bias.hpp"

namespace kfold::kernels {

int attention_pair_bias_meta_linked() { return 1; }

namespace {

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_meta(const at::Tensor& q, const at::Tensor& k,
                                                            const at::Tensor& v, const at::Tensor& bias,
                                                            const std::optional<at::Tensor>& mask) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  const auto lse_options = q.options().dtype(attention_accumulate_type(q.scalar_type()));
  return {at::empty(q.sizes(), q.options()),                                      // out [B, R, S, H, D]
          at::empty({q.size(0), q.size(1), q.size(3), q.size(2)}, lse_options)};  // lse [B, R, H, S]
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_meta(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  check_attention_pair_bias_backward_args(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  return {at::empty(q.sizes(), q.options()), at::empty(k.sizes(), k.options()), at::empty(v.sizes(), v.options()),
          at::empty(bias.sizes(), bias.options())};  // grad_bias in the bias's dtype, as the kernels return it
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, Meta, m) {
  m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_meta);
  m.impl("attention_pair_bias_backward", &kfold::kernels::attention_pair_bias_backward_meta);
}

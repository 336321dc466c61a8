// kfold::attention_pair_bias: the op's schema (declared once for the `kfold` torch library), argument
// checks, the plain libtorch reference (forward and backward) and the C++ entry point that dispatches.
#include "kernels/attention_pair_bias.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/einsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/softmax.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kfold::kernels {

// Defined next to each registration (same stem) so that linking this file pulls them in: a static
// library drops object files nobody references, and with them their TORCH_LIBRARY_IMPL blocks.
int attention_pair_bias_cpu_linked();
int attention_pair_bias_autograd_linked();
int attention_pair_bias_meta_linked();
#ifdef KFOLD_WITH_CUDA
int attention_pair_bias_cuda_linked();
#endif

namespace {

int registrations_linked() {
  int n = attention_pair_bias_cpu_linked() + attention_pair_bias_autograd_linked() + attention_pair_bias_meta_linked();
#ifdef KFOLD_WITH_CUDA
  n += attention_pair_bias_cuda_linked();
#endif
  return n;
}

bool is_supported_float(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kBFloat16 || t == at::kHalf;
}

}  // namespace

#ifndef KFOLD_WITH_CUDA
AttentionCudaKernels attention_pair_bias_cuda_kernels(const at::Tensor& /*q*/) { return {"none", "none"}; }
#endif

at::ScalarType attention_accumulate_type(at::ScalarType input) {
  return input == at::kDouble ? at::kDouble : at::kFloat;
}

at::Tensor attention_backward_delta(const at::Tensor& grad_out, const at::Tensor& out,
                                    const std::optional<at::Tensor>& grad_lse) {
  const int64_t B = out.size(0), R = out.size(1), S = out.size(2), H = out.size(3), D = out.size(4);
  auto delta = at::empty({B, R, H, S}, out.options().dtype(at::kFloat));  // [B, R, H, S]
  // A block of rows at a time: the fp32 copies of the whole of dO and O and their product were 3 x 2.1 GB at
  // bf16 S = R = 2048, H = 4, D = 32, beside the 8.6 GB of inputs and gradients (the target is 16 GB). Blocks
  // of at most 2^26 elements: two fp32 copies of 256 MiB.
  const int64_t block_rows = std::max<int64_t>(1, (int64_t{1} << 26) / std::max<int64_t>(1, B * S * H * D));
  for (int64_t r0 = 0; r0 < R; r0 += block_rows) {
    const int64_t rows = std::min(block_rows, R - r0);
    // A copy (copy=true): for fp32 inputs .to(kFloat) is grad_out itself, and the in-place product overwrote the
    // caller's gradient (and the dO the CUDA kernels read next; an expanded dO threw).
    auto products = grad_out.narrow(1, r0, rows).to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    products.mul_(out.narrow(1, r0, rows).to(at::kFloat));
    delta.narrow(1, r0, rows).copy_(products.sum(-1).permute({0, 1, 3, 2}));  // [B, rows, S, H] -> [B, rows, H, S]
  }
  if (grad_lse.has_value() && grad_lse->defined()) delta.sub_(grad_lse->to(at::kFloat));
  return delta;
}

void check_attention_pair_bias_args(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& bias, const std::optional<at::Tensor>& mask) {
  TORCH_CHECK(q.dim() == 5, "attention_pair_bias: q must be [B, R, S, H, D], got ", q.sizes());
  TORCH_CHECK(k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "attention_pair_bias: q, k, v must have the same shape, got ", q.sizes(), ", ", k.sizes(), ", ",
              v.sizes());
  TORCH_CHECK(is_supported_float(q.scalar_type()),
              "attention_pair_bias: q must be float32, float64, bfloat16 or float16, got ", q.scalar_type());
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(),
              "attention_pair_bias: q, k, v must share a dtype, got ", q.scalar_type(), ", ", k.scalar_type(), ", ",
              v.scalar_type());
  TORCH_CHECK(q.size(4) > 0, "attention_pair_bias: head dimension D must be positive");
  const int64_t n_batch = q.size(0), n_head = q.size(3), n_key = q.size(2);
  TORCH_CHECK(bias.dim() == 4 && bias.size(0) == n_batch && bias.size(1) == n_head && bias.size(2) == n_key &&
                  bias.size(3) == n_key,
              "attention_pair_bias: bias must be [B, H, S, S] = [", n_batch, ", ", n_head, ", ", n_key, ", ", n_key,
              "], got ", bias.sizes());
  TORCH_CHECK(is_supported_float(bias.scalar_type()), "attention_pair_bias: bias must be floating, got ",
              bias.scalar_type());
  const auto device = q.device();
  TORCH_CHECK(k.device() == device && v.device() == device && bias.device() == device,
              "attention_pair_bias: q, k, v and bias must be on one device, got ", device, ", ", k.device(), ", ",
              v.device(), ", ", bias.device());
  if (mask.has_value() && mask->defined()) {
    TORCH_CHECK(mask->dim() == 3 && mask->size(0) == n_batch && mask->size(1) == q.size(1) && mask->size(2) == n_key,
                "attention_pair_bias: mask must be [B, R, S] = [", n_batch, ", ", q.size(1), ", ", n_key, "], got ",
                mask->sizes());
    TORCH_CHECK(mask->scalar_type() == at::kBool || is_supported_float(mask->scalar_type()),
                "attention_pair_bias: mask must be bool or floating, got ", mask->scalar_type());
    TORCH_CHECK(mask->device() == device, "attention_pair_bias: mask must be on q's device");
  }
}

void check_attention_pair_bias_backward_args(const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse,
                                             const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& bias, const std::optional<at::Tensor>& mask,
                                             const at::Tensor& out, const at::Tensor& lse) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  TORCH_CHECK(grad_out.sizes() == q.sizes() && out.sizes() == q.sizes(),
              "attention_pair_bias_backward: grad_out and out must be shaped like q ", q.sizes(), ", got ",
              grad_out.sizes(), " and ", out.sizes());
  const std::vector<int64_t> stats{q.size(0), q.size(1), q.size(3), q.size(2)};  // [B, R, H, S]
  TORCH_CHECK(lse.sizes() == at::IntArrayRef(stats),
              "attention_pair_bias_backward: lse must be [B, R, H, S] = ", at::IntArrayRef(stats), ", got ",
              lse.sizes());
  const bool has_grad_lse = grad_lse.has_value() && grad_lse->defined();
  TORCH_CHECK(!has_grad_lse || grad_lse->sizes() == at::IntArrayRef(stats),
              "attention_pair_bias_backward: grad_lse must be [B, R, H, S] = ", at::IntArrayRef(stats), ", got ",
              has_grad_lse ? grad_lse->sizes() : at::IntArrayRef{});
  const auto device = q.device();
  TORCH_CHECK(grad_out.device() == device && out.device() == device && lse.device() == device &&
                  (!has_grad_lse || grad_lse->device() == device),
              "attention_pair_bias_backward: grad_out, grad_lse, out and lse must be on q's device");
  // One rule on every device (the CPU kernels rounded an fp32 grad_out to bf16, CUDA's fell back to the reference
  // and kept it): grad_out and out in the dtype the forward gave out, as autograd passes them.
  TORCH_CHECK(grad_out.scalar_type() == q.scalar_type() && out.scalar_type() == q.scalar_type(),
              "attention_pair_bias_backward: grad_out and out must have q's dtype ", q.scalar_type(), ", got ",
              grad_out.scalar_type(), " and ", out.scalar_type());
}

at::Tensor attention_mask_bias(const at::Tensor& mask, at::ScalarType dtype) {
  return (mask.to(dtype) - 1.0) * 1e9;  // [B, R, S]
}

namespace {

// (q_scaled . k + mask bias) + pair bias, in AlphaFold's order: [B, R, H, S, S].
at::Tensor attention_logits(const at::Tensor& q_scaled, const at::Tensor& k, const at::Tensor& bias,
                            const std::optional<at::Tensor>& mask) {
  auto logits = at::einsum("brqhd,brkhd->brhqk", at::TensorList{q_scaled, k});
  if (mask.has_value() && mask->defined())
    logits = logits + attention_mask_bias(*mask, logits.scalar_type()).unsqueeze(2).unsqueeze(2);  // [B, R, 1, 1, S]
  return logits + bias.unsqueeze(1);                                                               // + [B, 1, H, S, S]
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_reference(const at::Tensor& q, const at::Tensor& k,
                                                                 const at::Tensor& v, const at::Tensor& bias,
                                                                 const std::optional<at::Tensor>& mask) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  const auto acc = attention_accumulate_type(q.scalar_type());
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(4)));
  auto q_scaled = q.to(acc) * scale;                                        // [B, R, S, H, D]
  auto logits = attention_logits(q_scaled, k.to(acc), bias.to(acc), mask);  // [B, R, H, S, S]
  // lse = max + log sum exp(logits - max) with the max a constant: its gradient is the softmax even in a fully
  // masked fp32 row, where at::logsumexp's backward, exp(logits - lse) with lse = -1e9 + rounding, is not.
  auto row_max = std::get<0>(logits.detach().max(-1, true));                        // [B, R, H, S, 1]
  row_max.masked_fill_(row_max == -std::numeric_limits<double>::infinity(), 0.0);   // all -inf: lse = -inf
  auto lse = (row_max + (logits - row_max).exp().sum(-1, true).log()).squeeze(-1);  // [B, R, H, S]
  auto probs = at::softmax(logits, -1);                                             // [B, R, H, S, S]
  auto out = at::einsum("brhqk,brkhd->brqhd", at::TensorList{probs, v.to(acc)}).to(q.scalar_type());  // [B, R, S, H, D]
  return {out, lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_reference(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  check_attention_pair_bias_backward_args(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  const auto acc = attention_accumulate_type(q.scalar_type());
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(4)));
  auto qf = q.to(acc), kf = k.to(acc), vf = v.to(acc), go = grad_out.to(acc);  // [B, R, S, H, D]
  auto logits = attention_logits(qf * scale, kf, bias.to(acc), mask);          // [B, R, H, S, S]
  // softmax, not exp(logits - lse): a fully masked row's lse (-1e9 + log sum) is rounded in fp32.
  (void)lse;
  auto probs = at::softmax(logits, -1);                                        // [B, R, H, S, S]
  auto grad_v = at::einsum("brhqk,brqhd->brkhd", at::TensorList{probs, go});   // [B, R, S, H, D]
  auto grad_probs = at::einsum("brqhd,brkhd->brhqk", at::TensorList{go, vf});  // [B, R, H, S, S]
  auto delta = (go * out.to(acc)).sum(-1).permute({0, 1, 3, 2});               // [B, R, H, S]
  if (grad_lse.has_value() && grad_lse->defined()) delta = delta - grad_lse->to(acc);
  auto grad_logits = probs * (grad_probs - delta.unsqueeze(-1));  // [B, R, H, S, S]
  auto grad_q = at::einsum("brhqk,brkhd->brqhd", at::TensorList{grad_logits, kf}) * scale;
  auto grad_k = at::einsum("brhqk,brqhd->brkhd", at::TensorList{grad_logits, qf}) * scale;
  auto grad_bias = grad_logits.sum(1);  // [B, H, S, S]
  return {grad_q.to(q.scalar_type()), grad_k.to(k.scalar_type()), grad_v.to(v.scalar_type()),
          grad_bias.to(bias.scalar_type())};
}

std::tuple<at::Tensor, at::Tensor> attention_pair_bias(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                       const at::Tensor& bias, const std::optional<at::Tensor>& mask) {
  static const int linked = registrations_linked();
  (void)linked;
  static auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("kfold::attention_pair_bias", "")
          .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                    const at::Tensor&, const std::optional<at::Tensor>&)>();
  return op.call(q, k, v, bias, mask);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  static const int linked = registrations_linked();
  (void)linked;
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("kfold::attention_pair_bias_backward", "")
                       .typed<std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
                           const at::Tensor&, const std::optional<at::Tensor>&, const at::Tensor&, const at::Tensor&,
                           const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, const at::Tensor&,
                           const at::Tensor&)>();
  return op.call(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
}

}  // namespace kfold::kernels

// The schemas of every kfold op (other files add ops with TORCH_LIBRARY_FRAGMENT).
TORCH_LIBRARY(kfold, m) {
  m.def(
      "attention_pair_bias(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor? mask=None) -> (Tensor out, Tensor lse)");
  m.def(
      "attention_pair_bias_backward(Tensor grad_out, Tensor? grad_lse, Tensor q, Tensor k, Tensor v, Tensor bias, "
      "Tensor? mask, Tensor out, Tensor lse) -> (Tensor grad_q, Tensor grad_k, Tensor grad_v, Tensor grad_bias)");
}

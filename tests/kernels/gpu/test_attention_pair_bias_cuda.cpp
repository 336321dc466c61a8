// kfold::attention_pair_bias on CUDA (label gpu): the fused forward and backward against the reference
// for fp32, bf16 and fp16, head dims 8/16/32/64, masks, fully masked rows and strided views; gradients
// through autograd; the backward bitwise repeatable (no atomics) and leaving its grad_out as it was.
// bf16/fp16 run through both the CUDA-core kernels and the tensor-core ones (KFOLD_ATTENTION_TENSOR_CORES=1),
// and every case checks which kernels ran (a silent fallback would compare the reference with itself).
// Without a CUDA device every case passes with a message, unless KFOLD_REQUIRE_GPU=1 (scripts/gpu_check).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <doctest/doctest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gpu_test_support.hpp"
#include "kernels/attention_test_support.hpp"
#include "kernels/runtime_info.hpp"

using kfold::test::AttentionInputs;
using kfold::test::AttentionShape;
using kfold::test::call_attention_backward_op;
using kfold::test::call_attention_op;
using kfold::test::call_attention_reference;
using kfold::test::check_close;
using kfold::test::have_cuda;
using kfold::test::make_attention_inputs;

namespace {

at::TensorOptions on_cuda(at::ScalarType dtype) { return at::TensorOptions().dtype(dtype).device(at::kCUDA); }

// fp32: the kernel multiplies in fp32 like the reference but in another order; bf16/fp16: the output's
// rounding (relative: half an ulp is 2^-9 of |out| in bf16, 2^-12 in fp16) and, on the tensor cores, p
// rounded to the input precision before P V (absolute, at most ~5e-3 in bf16).
double out_atol(at::ScalarType dtype) { return dtype == at::kFloat ? 2e-5 : (dtype == at::kBFloat16 ? 1e-2 : 2e-3); }
double out_rtol(at::ScalarType dtype) { return dtype == at::kFloat ? 0.0 : (dtype == at::kBFloat16 ? 4e-3 : 5e-4); }

// KFOLD_ATTENTION_TENSOR_CORES for the scope (the op reads it at every call).
class TensorCores {
 public:
  explicit TensorCores(bool on) { setenv("KFOLD_ATTENTION_TENSOR_CORES", on ? "1" : "0", 1); }
  ~TensorCores() { unsetenv("KFOLD_ATTENTION_TENSOR_CORES"); }
  TensorCores(const TensorCores&) = delete;
  TensorCores& operator=(const TensorCores&) = delete;
};

// The kernels the op must run for these inputs on this GPU. The tensor-core kernels need sm_80+; the
// backward's at head dim 64 takes 106 KB of shared memory, more than sm_86/sm_89/sm_120 give a block (99 KB),
// where the CUDA-core kernels run instead.
std::string expected_kernels(at::ScalarType dtype, int64_t D, bool tensor_cores, bool backward) {
  const auto devices = kfold::kernels::runtime_info().cuda_devices;
  REQUIRE(!devices.empty());
  const int major = devices.front().compute_major, minor = devices.front().compute_minor;
  if (!tensor_cores || dtype == at::kFloat || D < 16 || major < 8) return "cuda cores";
  const bool large_shared_memory = major == 9 || major == 10 || (major == 8 && (minor == 0 || minor == 7));
  return backward && D == 64 && !large_shared_memory ? "cuda cores" : "tensor cores";
}

void check_kernels(const at::Tensor& q, bool tensor_cores) {
  const auto ran = kfold::kernels::attention_pair_bias_cuda_kernels(q);
  CHECK(std::string(ran.forward) == expected_kernels(q.scalar_type(), q.size(4), tensor_cores, false));
  CHECK(std::string(ran.backward) == expected_kernels(q.scalar_type(), q.size(4), tensor_cores, true));
}

AttentionInputs as_float(const AttentionInputs& in) {
  return {in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat), in.bias.to(at::kFloat), in.mask};
}

}  // namespace

TEST_CASE("attention_pair_bias CUDA: forward matches the reference (fp32/bf16/fp16, D = 8/16/32/64)") {
  if (!have_cuda()) return;
  const std::vector<AttentionShape> shapes = {{1, 2, 1, 1, 16},   {2, 3, 7, 2, 32},   {1, 4, 64, 4, 64},
                                              {1, 3, 129, 2, 32}, {1, 2, 300, 2, 16}, {1, 2, 300, 4, 64},
                                              {1, 5, 97, 8, 8}};
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const bool tensor_cores : {false, true}) {
      if (tensor_cores && dtype == at::kFloat) continue;
      const TensorCores scope(tensor_cores);
      for (const auto& shape : shapes) {
        for (const bool with_mask : {false, true}) {
          INFO(kfold::test::describe(shape)
               << " dtype=" << dtype << " mask=" << with_mask << " tensor cores=" << tensor_cores);
          const auto in = make_attention_inputs(shape, on_cuda(dtype), with_mask, with_mask);
          check_kernels(in.q, tensor_cores);
          const auto [out, lse] = call_attention_op(in);
          const auto [ref_out, ref_lse] = call_attention_reference(as_float(in));
          CHECK(out.is_cuda());
          CHECK(out.dtype() == dtype);
          check_close(out, ref_out, out_atol(dtype), out_rtol(dtype), "out");
          check_close(lse, ref_lse, 2e-5, 2e-5, "lse");
        }
      }
    }
  }
}

TEST_CASE("attention_pair_bias CUDA: strided ending-node views and the CPU kernel agree") {
  if (!have_cuda()) return;
  const AttentionShape shape{2, 5, 70, 2, 32};
  const auto base = make_attention_inputs(shape, on_cuda(at::kFloat), /*with_mask=*/true, true);
  AttentionInputs in = base;
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});
  const auto [out, lse] = call_attention_op(in);
  const auto [ref_out, ref_lse] = call_attention_reference(base);
  check_close(out, ref_out, 2e-5, 0.0, "out");
  check_close(lse, ref_lse, 2e-5, 2e-5, "lse");
  AttentionInputs cpu{base.q.cpu(), base.k.cpu(), base.v.cpu(), base.bias.cpu(), base.mask->cpu()};
  const auto [cpu_out, cpu_lse] = call_attention_op(cpu);
  check_close(out, cpu_out, 2e-5, 0.0, "CUDA vs CPU out");
  check_close(lse, cpu_lse, 2e-5, 2e-5, "CUDA vs CPU lse");
}

TEST_CASE("attention_pair_bias CUDA: KFOLD_ATTENTION_TENSOR_CORES takes 0/1/on/off/true/false, refuses others") {
  if (!have_cuda()) return;
  const auto in = make_attention_inputs({1, 2, 33, 2, 32}, on_cuda(at::kBFloat16), true, false);
  for (const char* value : {"1", "ON", "true", "yes", "0", "off", "False", "no"}) {
    INFO(value);
    setenv("KFOLD_ATTENTION_TENSOR_CORES", value, 1);
    CHECK_NOTHROW(call_attention_op(in));
  }
  setenv("KFOLD_ATTENTION_TENSOR_CORES", "of", 1);  // a typo must not pick the tensor cores silently
  CHECK_THROWS_WITH_AS(call_attention_op(in), doctest::Contains("KFOLD_ATTENTION_TENSOR_CORES=of"), c10::Error);
  unsetenv("KFOLD_ATTENTION_TENSOR_CORES");
}

TEST_CASE("attention_pair_bias CUDA: gradients match autograd through the reference") {
  if (!have_cuda()) return;
  const AttentionShape shape{1, 3, 65, 2, 32};
  auto in = make_attention_inputs(shape, on_cuda(at::kFloat), /*with_mask=*/true, /*fully_masked_row=*/true);
  for (auto* t : {&in.q, &in.k, &in.v, &in.bias}) t->requires_grad_(true);
  const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D}, on_cuda(at::kFloat));
  const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S}, on_cuda(at::kFloat));
  auto [out, lse] = call_attention_op(in);
  const auto fused = torch::autograd::grad({(out * w_out).sum() + (lse * w_lse).sum()}, {in.q, in.k, in.v, in.bias});
  auto [ref_out, ref_lse] = call_attention_reference(in);
  const auto ref =
      torch::autograd::grad({(ref_out * w_out).sum() + (ref_lse * w_lse).sum()}, {in.q, in.k, in.v, in.bias});
  for (int t = 0; t < 4; ++t) check_close(fused[t], ref[t], 1e-4, 1e-4, "gradient " + std::to_string(t));
}

TEST_CASE("attention_pair_bias CUDA: fused backward matches the reference (fp32/bf16/fp16, D = 8/16/32/64)") {
  if (!have_cuda()) return;
  // S = 7 and 130 leave partial tiles in every kernel (128 rows per block, 16 x 16 bias tiles).
  const std::vector<AttentionShape> shapes = {
      {1, 2, 7, 2, 16}, {2, 3, 65, 2, 32}, {1, 3, 130, 2, 64}, {1, 4, 33, 8, 8}};
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const bool tensor_cores : {false, true}) {
      if (tensor_cores && dtype == at::kFloat) continue;
      const TensorCores scope(tensor_cores);
      for (const auto& shape : shapes) {
        for (const bool with_mask : {false, true}) {
          INFO(kfold::test::describe(shape)
               << " dtype=" << dtype << " mask=" << with_mask << " tensor cores=" << tensor_cores);
          const auto in = make_attention_inputs(shape, on_cuda(dtype), with_mask, with_mask);
          check_kernels(in.q, tensor_cores);
          const auto [out, lse] = call_attention_op(in);
          const auto grad_out = at::randn(out.sizes(), on_cuda(at::kFloat)).to(dtype);
          const auto grad_lse = at::randn(lse.sizes(), on_cuda(at::kFloat));
          const auto grad_out_before = grad_out.clone();
          const auto fused = call_attention_backward_op(grad_out, grad_lse, in, out, lse);
          CHECK(at::equal(grad_out, grad_out_before));  // (fp32: the product dO * O was once taken in place)
          // The reference in fp32 on the same (rounded) inputs and the same forward output.
          const auto ref = kfold::kernels::attention_pair_bias_backward_reference(
              grad_out.to(at::kFloat), grad_lse, in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat),
              in.bias.to(at::kFloat), in.mask, out.to(at::kFloat), lse);
          // fp32: another summation order (1e-4); bf16/fp16: the gradients are rounded to 8/11 bits on output.
          const double atol = dtype == at::kFloat ? 1e-4 : (dtype == at::kBFloat16 ? 5e-2 : 1e-2);
          const double rtol = dtype == at::kFloat ? 1e-4 : (dtype == at::kBFloat16 ? 2e-2 : 4e-3);
          CHECK(std::get<0>(fused).dtype() == dtype);
          check_close(std::get<0>(fused), std::get<0>(ref), atol, rtol, "grad_q");
          check_close(std::get<1>(fused), std::get<1>(ref), atol, rtol, "grad_k");
          check_close(std::get<2>(fused), std::get<2>(ref), atol, rtol, "grad_v");
          check_close(std::get<3>(fused), std::get<3>(ref), atol, rtol, "grad_bias");
        }
      }
    }
  }
}

TEST_CASE("attention_pair_bias CUDA: backward on strided views, bitwise repeatable") {
  if (!have_cuda()) return;
  const AttentionShape shape{2, 5, 70, 2, 32};
  const auto base = make_attention_inputs(shape, on_cuda(at::kFloat), /*with_mask=*/true, true);
  AttentionInputs in = base;  // the ending-node layout: rows and positions swapped in memory
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});
  const auto [out, lse] = call_attention_op(base);
  const auto grad_out = at::randn(out.sizes(), on_cuda(at::kFloat)).transpose(1, 2).contiguous().transpose(1, 2);
  const auto grad_lse = at::randn(lse.sizes(), on_cuda(at::kFloat));
  const auto a = call_attention_backward_op(grad_out, grad_lse, in, out, lse);
  const auto b = call_attention_backward_op(grad_out, grad_lse, in, out, lse);
  const auto ref = kfold::kernels::attention_pair_bias_backward_reference(grad_out, grad_lse, base.q, base.k, base.v,
                                                                          base.bias, base.mask, out, lse);
  check_close(std::get<0>(a), std::get<0>(ref), 1e-4, 1e-4, "grad_q");
  check_close(std::get<1>(a), std::get<1>(ref), 1e-4, 1e-4, "grad_k");
  check_close(std::get<2>(a), std::get<2>(ref), 1e-4, 1e-4, "grad_v");
  check_close(std::get<3>(a), std::get<3>(ref), 1e-4, 1e-4, "grad_bias");
  CHECK(at::equal(std::get<0>(a), std::get<0>(b)));
  CHECK(at::equal(std::get<1>(a), std::get<1>(b)));
  CHECK(at::equal(std::get<2>(a), std::get<2>(b)));
  CHECK(at::equal(std::get<3>(a), std::get<3>(b)));
}

TEST_CASE("attention_pair_bias CUDA tensor cores: bf16 strided views, larger S, bitwise repeatable backward") {
  if (!have_cuda()) return;
  const TensorCores scope(true);
  const AttentionShape shape{1, 4, 300, 2, 32};
  const auto base = make_attention_inputs(shape, on_cuda(at::kBFloat16), /*with_mask=*/true, true);
  check_kernels(base.q, true);
  AttentionInputs in = base;
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});
  const auto [out, lse] = call_attention_op(in);
  const auto [ref_out, ref_lse] = call_attention_reference(as_float(base));
  check_close(out, ref_out, out_atol(at::kBFloat16), out_rtol(at::kBFloat16), "out");
  check_close(lse, ref_lse, 2e-5, 2e-5, "lse");
  const auto grad_out = at::randn(out.sizes(), on_cuda(at::kFloat)).to(at::kBFloat16);
  const auto grad_lse = at::randn(lse.sizes(), on_cuda(at::kFloat));
  const auto a = call_attention_backward_op(grad_out, grad_lse, in, out, lse);
  const auto b = call_attention_backward_op(grad_out, grad_lse, in, out, lse);
  const auto ref = kfold::kernels::attention_pair_bias_backward_reference(
      grad_out.to(at::kFloat), grad_lse, base.q.to(at::kFloat), base.k.to(at::kFloat), base.v.to(at::kFloat),
      base.bias.to(at::kFloat), base.mask, out.to(at::kFloat), lse);
  check_close(std::get<0>(a), std::get<0>(ref), 5e-2, 2e-2, "grad_q");
  check_close(std::get<1>(a), std::get<1>(ref), 5e-2, 2e-2, "grad_k");
  check_close(std::get<2>(a), std::get<2>(ref), 5e-2, 2e-2, "grad_v");
  check_close(std::get<3>(a), std::get<3>(ref), 5e-2, 2e-2, "grad_bias");
  CHECK(at::equal(std::get<0>(a), std::get<0>(b)));
  CHECK(at::equal(std::get<1>(a), std::get<1>(b)));
  CHECK(at::equal(std::get<2>(a), std::get<2>(b)));
  CHECK(at::equal(std::get<3>(a), std::get<3>(b)));
}

TEST_CASE("attention_pair_bias CUDA: an expanded grad_out (out.sum().backward()) is read, never written") {
  if (!have_cuda()) return;
  const AttentionShape shape{1, 3, 65, 2, 32};
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    INFO("dtype=" << dtype);
    auto in = make_attention_inputs(shape, on_cuda(dtype), /*with_mask=*/true, /*fully_masked_row=*/false);
    check_kernels(in.q, false);
    const auto [out, lse] = call_attention_op(in);
    const auto grad_out = at::ones({}, on_cuda(dtype)).expand(out.sizes());  // stride 0 everywhere
    const auto fused = call_attention_backward_op(grad_out, std::nullopt, in, out, lse);
    const auto ref = kfold::kernels::attention_pair_bias_backward_reference(
        grad_out.to(at::kFloat), std::nullopt, in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat),
        in.bias.to(at::kFloat), in.mask, out.to(at::kFloat), lse);
    const double atol = dtype == at::kFloat ? 1e-4 : 5e-2, rtol = dtype == at::kFloat ? 1e-4 : 2e-2;
    check_close(std::get<0>(fused), std::get<0>(ref), atol, rtol, "grad_q");
    check_close(std::get<1>(fused), std::get<1>(ref), atol, rtol, "grad_k");
    check_close(std::get<2>(fused), std::get<2>(ref), atol, rtol, "grad_v");
    check_close(std::get<3>(fused), std::get<3>(ref), atol, rtol, "grad_bias");
    // Through autograd, as a loss of out.sum() gives it.
    for (auto* t : {&in.q, &in.k, &in.v, &in.bias}) *t = t->detach().requires_grad_(true);
    auto [out2, lse2] = call_attention_op(in);
    const auto grads = torch::autograd::grad({out2.sum()}, {in.q, in.k, in.v, in.bias});
    check_close(grads[0], std::get<0>(ref), atol, rtol, "autograd grad_q");
    check_close(grads[3], std::get<3>(ref), atol, rtol, "autograd grad_bias");
  }
}

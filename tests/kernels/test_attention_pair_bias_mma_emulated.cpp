// The tensor-core forward of kfold::attention_pair_bias (kernels/attention_pair_bias_mma_forward.cuh), run on the
// CPU through the CUDA emulation of cuda_emulation.hpp, against the libtorch reference: bf16 and fp16,
// head dims 16/32/64, partial query and key tiles, masks, a fully masked row and strided ending-node
// views. This checks the kernel's tiling, indexing, online softmax and warp synchronisation on every CI
// machine; the same kernel on a GPU is tested by tests/kernels/gpu (scripts/gpu_check).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/attention_test_support.hpp"
#include "kernels/cuda_emulation.hpp"
// The device code after the emulation it runs on.
#include "kernels/attention_pair_bias_mma_backward.cuh"
#include "kernels/attention_pair_bias_mma_forward.cuh"

using kfold::test::AttentionInputs;
using kfold::test::AttentionShape;
using kfold::test::call_attention_reference;
using kfold::test::check_close;
using kfold::test::make_attention_inputs;
namespace tc = kfold::kernels::tensor_core;

namespace {

template <typename T>
tc::StridedInput<T> strided(const at::Tensor& t) {
  return {static_cast<const T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.stride(4)};
}

// kernel<<<blocks, 128, shared bytes>>>(params) in the emulation, as the CUDA launcher sets it up.
template <typename T, int D>
std::tuple<at::Tensor, at::Tensor> run_emulated(const AttentionInputs& in) {
  const int64_t B = in.q.size(0), R = in.q.size(1), S = in.q.size(2), H = in.q.size(3);
  auto out = at::empty({B, R, S, H, D}, in.q.options());                 // [B, R, S, H, D]
  auto lse = at::empty({B, R, H, S}, in.q.options().dtype(at::kFloat));  // [B, R, H, S]
  const auto bias = in.bias.to(at::kFloat).contiguous();                 // [B, H, S, S]
  at::Tensor mask_bias;                                                  // [B, R, S]
  if (in.mask.has_value()) mask_bias = kfold::kernels::attention_mask_bias(*in.mask, at::kFloat).contiguous();
  const tc::ForwardParams<T> params{strided<T>(in.q),
                                    strided<T>(in.k),
                                    strided<T>(in.v),
                                    bias.data_ptr<float>(),
                                    mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                    static_cast<T*>(out.data_ptr()),
                                    lse.data_ptr<float>(),
                                    B,
                                    R,
                                    S,
                                    H,
                                    static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  const auto blocks = static_cast<unsigned>(B * R * H * ((S + tc::kBlockQueries - 1) / tc::kBlockQueries));
  kfold::cuda_emulation::launch(blocks, tc::kThreads, tc::ForwardSharedLayout<T, D>::bytes,
                                [&] { tc::attention_pair_bias_forward_mma_kernel<T, D>(params); });
  return {out, lse};
}

template <typename T>
std::tuple<at::Tensor, at::Tensor> run_emulated(const AttentionInputs& in) {
  switch (in.q.size(4)) {
    case 16:
      return run_emulated<T, 16>(in);
    case 32:
      return run_emulated<T, 32>(in);
    default:
      return run_emulated<T, 64>(in);
  }
}

// The three backward kernels in stream order, as the CUDA launcher runs them: (dq, dk, dv, dbias).
template <typename T, int D>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> run_emulated_backward(const at::Tensor& grad_out,
                                                                                 const at::Tensor& grad_lse,
                                                                                 const AttentionInputs& in,
                                                                                 const at::Tensor& out) {
  const int64_t B = in.q.size(0), R = in.q.size(1), S = in.q.size(2), H = in.q.size(3);
  const auto f32 = in.q.options().dtype(at::kFloat);
  auto grad_q = at::empty({B, R, S, H, D}, in.q.options());  // [B, R, S, H, D]
  auto grad_k = at::empty({B, R, S, H, D}, in.q.options());
  auto grad_v = at::empty({B, R, S, H, D}, in.q.options());
  auto grad_bias = at::empty({B, H, S, S}, f32);  // every element written by the dbias kernel
  const auto delta =
      (grad_out.to(at::kFloat) * out.to(at::kFloat)).sum(-1).permute({0, 1, 3, 2}).sub(grad_lse).contiguous();
  auto row_max = at::empty({B, R, H, S}, f32), row_sum = at::empty({B, R, H, S}, f32);
  const auto bias = in.bias.to(at::kFloat).contiguous();
  at::Tensor mask_bias;
  if (in.mask.has_value()) mask_bias = kfold::kernels::attention_mask_bias(*in.mask, at::kFloat).contiguous();
  const tc::BackwardParams<T> params{strided<T>(in.q),
                                     strided<T>(in.k),
                                     strided<T>(in.v),
                                     strided<T>(grad_out),
                                     bias.data_ptr<float>(),
                                     mask_bias.defined() ? mask_bias.data_ptr<float>() : nullptr,
                                     delta.data_ptr<float>(),
                                     row_max.data_ptr<float>(),
                                     row_sum.data_ptr<float>(),
                                     static_cast<T*>(grad_q.data_ptr()),
                                     static_cast<T*>(grad_k.data_ptr()),
                                     static_cast<T*>(grad_v.data_ptr()),
                                     grad_bias.data_ptr<float>(),
                                     B,
                                     R,
                                     S,
                                     H,
                                     static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  const int64_t n_tiles = (S + 63) / 64;
  const auto row_blocks = static_cast<unsigned>(B * R * H * n_tiles);
  const auto bias_blocks = static_cast<unsigned>(B * H * n_tiles * n_tiles);
  namespace emu = kfold::cuda_emulation;
  emu::launch(row_blocks, tc::kThreads, tc::DqSharedLayout<T, D>::bytes,
              [&] { tc::attention_pair_bias_backward_dq_mma_kernel<T, D>(params); });
  emu::launch(row_blocks, tc::kThreads, tc::DkvSharedLayout<T, D>::bytes,
              [&] { tc::attention_pair_bias_backward_dkv_mma_kernel<T, D>(params); });
  emu::launch(bias_blocks, tc::kThreads, tc::DbiasSharedLayout<T, D>::bytes,
              [&] { tc::attention_pair_bias_backward_dbias_mma_kernel<T, D>(params); });
  return {grad_q, grad_k, grad_v, grad_bias};
}

AttentionInputs as_float(const AttentionInputs& in) {
  return {in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat), in.bias.to(at::kFloat), in.mask};
}

// Output tolerances: bf16 / fp16 outputs carry 8 / 11 significant bits, and the probabilities enter the
// P.V product rounded to the same precision (relative 2^-9 / 2^-12 per term); outputs are O(1).
// The log-sum-exp is fp32 from exact products of the rounded inputs: 2e-5 absolute and relative.
double out_atol(at::ScalarType dtype) { return dtype == at::kBFloat16 ? 1e-2 : 2e-3; }
constexpr double kLseTol = 2e-5;

}  // namespace

TEST_CASE("attention_pair_bias tensor-core forward (CPU emulation) matches the reference: bf16/fp16, D = 16/32/64") {
  // S = 1 and 7: one partial tile; 64: exactly one; 70 and 129: partial last query and key tiles.
  const std::vector<AttentionShape> shapes = {
      {1, 2, 1, 1, 16}, {2, 2, 7, 2, 32}, {1, 2, 64, 2, 64}, {1, 2, 70, 1, 32}, {1, 1, 129, 2, 16}};
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    for (const auto& shape : shapes) {
      for (const bool with_mask : {false, true}) {
        INFO(kfold::test::describe(shape) << " dtype=" << dtype << " mask=" << with_mask);
        const auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), with_mask, with_mask);
        const auto [out, lse] = dtype == at::kBFloat16 ? run_emulated<c10::BFloat16>(in) : run_emulated<c10::Half>(in);
        const auto [ref_out, ref_lse] = call_attention_reference(as_float(in));
        CHECK(out.dtype() == dtype);
        check_close(out, ref_out, out_atol(dtype), 0.0, "out");
        check_close(lse, ref_lse, kLseTol, kLseTol, "lse");
      }
    }
  }
}

TEST_CASE("attention_pair_bias tensor-core forward (CPU emulation): strided ending-node views, fully masked row") {
  const AttentionShape shape{1, 3, 70, 2, 32};
  const auto base = make_attention_inputs(shape, at::TensorOptions().dtype(at::kBFloat16), /*with_mask=*/true,
                                          /*fully_masked_row=*/true);
  AttentionInputs in = base;  // rows and positions swapped in memory, head dim strided for v
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});
  const auto [out, lse] = run_emulated<c10::BFloat16>(in);
  const auto [ref_out, ref_lse] = call_attention_reference(as_float(base));
  check_close(out, ref_out, out_atol(at::kBFloat16), 0.0, "out");
  check_close(lse, ref_lse, kLseTol, kLseTol, "lse");
  // The fully masked row (b 0, r 0) is the uniform average of v over all keys, as in AlphaFold.
  const auto uniform = base.v.to(at::kFloat).select(1, 0).mean(/*dim=*/1, /*keepdim=*/true).expand({1, 70, 2, 32});
  check_close(out.select(1, 0), uniform, out_atol(at::kBFloat16), 0.0, "fully masked row");
}

TEST_CASE("cuda_emulation: a misaligned WMMA pointer is reported") {
  namespace wmma = kfold::cuda_emulation::wmma;
  alignas(32) c10::BFloat16 tile[16 * 24] = {};
  auto misaligned = [&] {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, c10::BFloat16, wmma::row_major> f;
    wmma::load_matrix_sync(f, tile + 1, 24);
  };
  CHECK_THROWS_AS(kfold::cuda_emulation::launch(1, 32, 0, misaligned), std::runtime_error);
  auto aligned = [&] {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, c10::BFloat16, wmma::row_major> f;
    wmma::load_matrix_sync(f, tile, 24);
  };
  CHECK_NOTHROW(kfold::cuda_emulation::launch(1, 32, 0, aligned));
}

TEST_CASE("attention_pair_bias tensor-core backward (CPU emulation) matches the reference: bf16/fp16, D = 16/32/64") {
  // S = 7: partial tiles everywhere; 70: a full and a partial tile of queries and keys.
  const std::vector<AttentionShape> shapes = {{1, 2, 7, 2, 16}, {1, 3, 70, 1, 32}, {1, 2, 70, 1, 64}};
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    for (const auto& shape : shapes) {
      for (const bool with_mask : {false, true}) {
        INFO(kfold::test::describe(shape) << " dtype=" << dtype << " mask=" << with_mask);
        const auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), with_mask, with_mask);
        const auto [out, lse] = kfold::test::call_attention_op(in);  // the CPU kernel's forward
        const auto grad_out = at::randn(out.sizes(), at::TensorOptions().dtype(at::kFloat)).to(dtype);
        const auto grad_lse = at::randn(lse.sizes(), at::TensorOptions().dtype(at::kFloat));
        const bool bf16 = dtype == at::kBFloat16;
        std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> fused;
        switch (shape.D) {
          case 16:
            fused = bf16 ? run_emulated_backward<c10::BFloat16, 16>(grad_out, grad_lse, in, out)
                         : run_emulated_backward<c10::Half, 16>(grad_out, grad_lse, in, out);
            break;
          case 32:
            fused = bf16 ? run_emulated_backward<c10::BFloat16, 32>(grad_out, grad_lse, in, out)
                         : run_emulated_backward<c10::Half, 32>(grad_out, grad_lse, in, out);
            break;
          default:
            fused = bf16 ? run_emulated_backward<c10::BFloat16, 64>(grad_out, grad_lse, in, out)
                         : run_emulated_backward<c10::Half, 64>(grad_out, grad_lse, in, out);
        }
        // The fp32 reference on the same rounded inputs and forward output. Tolerances as the GPU tests':
        // the gradients are rounded to 8 / 11 bits on output, and p and ds enter the tensor-core products
        // at that precision.
        const auto ref = kfold::kernels::attention_pair_bias_backward_reference(
            grad_out.to(at::kFloat), grad_lse, in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat),
            in.bias.to(at::kFloat), in.mask, out.to(at::kFloat), lse);
        const double atol = bf16 ? 5e-2 : 1e-2, rtol = bf16 ? 2e-2 : 4e-3;
        check_close(std::get<0>(fused), std::get<0>(ref), atol, rtol, "grad_q");
        check_close(std::get<1>(fused), std::get<1>(ref), atol, rtol, "grad_k");
        check_close(std::get<2>(fused), std::get<2>(ref), atol, rtol, "grad_v");
        check_close(std::get<3>(fused), std::get<3>(ref), atol, rtol, "grad_bias");
      }
    }
  }
}

// The CUDA kernels of kfold::attention_pair_bias, run on the CPU through the CUDA emulation of
// cuda_emulation.hpp, against the libtorch reference: the CUDA-core kernels (attention_pair_bias_simt.cuh:
// fp32/bf16/fp16, head dims 8/16/32/64) and the tensor-core ones (attention_pair_bias_mma_*.cuh:
// bf16/fp16, head dims 16/32/64), forward and backward, partial tiles, masks, a fully masked row and
// strided ending-node views. This runs the kernels' own source (tiling, indexing, online softmax,
// synchronisation) on every CI machine; on a GPU the same kernels are tested by tests/kernels/gpu
// (scripts/gpu_check).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/attention_pair_bias.hpp"
#include "kernels/attention_test_support.hpp"
#include "kernels/cuda_emulation.hpp"
// The device code after the emulation it runs on.
#include "kernels/attention_pair_bias_mma_backward.cuh"
#include "kernels/attention_pair_bias_mma_forward.cuh"
#include "kernels/attention_pair_bias_params.cuh"
#include "kernels/attention_pair_bias_simt.cuh"

using kfold::test::AttentionInputs;
using kfold::test::AttentionShape;
using kfold::test::call_attention_reference;
using kfold::test::check_close;
using kfold::test::make_attention_inputs;
namespace emu = kfold::cuda_emulation;
namespace kern = kfold::kernels;
namespace simt = kfold::kernels::cuda_core;
namespace tc = kfold::kernels::tensor_core;

namespace {

enum class Kind { cuda_cores, tensor_cores };

const char* name(Kind kind) { return kind == Kind::cuda_cores ? "CUDA cores" : "tensor cores"; }

struct Prepared {
  at::Tensor bias_f32;   // [B, H, S, S]
  at::Tensor mask_bias;  // [B, R, S] or undefined
};

Prepared prepare(const AttentionInputs& in) {
  Prepared p{in.bias.to(at::kFloat).contiguous(), at::Tensor()};
  if (in.mask.has_value()) p.mask_bias = kern::attention_mask_bias(*in.mask, at::kFloat).contiguous();
  return p;
}

// The forward as the CUDA launcher runs it (same params, grid and block), for element type T.
template <typename T, int D>
std::tuple<at::Tensor, at::Tensor> forward(Kind kind, const AttentionInputs& in) {
  const int64_t B = in.q.size(0), R = in.q.size(1), S = in.q.size(2), H = in.q.size(3);
  auto out = at::empty({B, R, S, H, D}, in.q.options());                 // [B, R, S, H, D]
  auto lse = at::empty({B, R, H, S}, in.q.options().dtype(at::kFloat));  // [B, R, H, S]
  const auto prep = prepare(in);
  const auto p = kern::forward_params<T>(in.q, in.k, in.v, prep.bias_f32, prep.mask_bias, out, lse);
  if (kind == Kind::cuda_cores) {
    emu::launch(simt::row_blocks(p), simt::kThreads, 0,
                [&] { simt::attention_pair_bias_forward_kernel<T, D, simt::SimtTiles<D>::forward_keys>(p); });
  } else if constexpr (D >= 16 && !std::is_same_v<T, float>) {
    emu::launch(tc::row_blocks(p), tc::kThreads, tc::ForwardSharedLayout<T, D>::bytes,
                [&] { tc::attention_pair_bias_forward_mma_kernel<T, D>(p); });
  }
  return {out, lse};
}

// The three backward kernels in stream order, as the CUDA launcher runs them: (dq, dk, dv, dbias).
template <typename T, int D>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> backward(Kind kind, const at::Tensor& grad_out,
                                                                    const at::Tensor& grad_lse,
                                                                    const AttentionInputs& in, const at::Tensor& out) {
  const int64_t B = in.q.size(0), R = in.q.size(1), S = in.q.size(2), H = in.q.size(3);
  const auto f32 = in.q.options().dtype(at::kFloat);
  auto grad_q = at::empty({B, R, S, H, D}, in.q.options());  // [B, R, S, H, D]
  auto grad_k = at::empty({B, R, S, H, D}, in.q.options());
  auto grad_v = at::empty({B, R, S, H, D}, in.q.options());
  auto grad_bias = at::empty({B, H, S, S}, f32);  // every element written by the dbias kernel
  const auto delta = kern::attention_backward_delta(grad_out, out, grad_lse);  // [B, R, H, S], the launcher's
  auto row_max = at::empty({B, R, H, S}, f32), row_sum = at::empty({B, R, H, S}, f32);
  const auto prep = prepare(in);
  const auto p = kern::backward_params<T>(grad_out, in.q, in.k, in.v, prep.bias_f32, prep.mask_bias, delta, row_max,
                                          row_sum, grad_q, grad_k, grad_v, grad_bias);
  if (kind == Kind::cuda_cores) {
    using Tiles = simt::SimtTiles<D>;
    emu::launch(simt::row_blocks(p), simt::kThreads, 0,
                [&] { simt::attention_pair_bias_backward_dq_kernel<T, D, Tiles::backward_keys>(p); });
    emu::launch(simt::row_blocks(p), simt::kThreads, 0,
                [&] { simt::attention_pair_bias_backward_dkv_kernel<T, D, Tiles::backward_queries>(p); });
    emu::launch(simt::bias_blocks(p), simt::kBiasTile * simt::kBiasTile, 0,
                [&] { simt::attention_pair_bias_backward_dbias_kernel<T, D>(p); });
  } else if constexpr (D >= 16 && !std::is_same_v<T, float>) {
    emu::launch(tc::row_blocks(p), tc::kThreads, tc::DqSharedLayout<T, D>::bytes,
                [&] { tc::attention_pair_bias_backward_dq_mma_kernel<T, D>(p); });
    emu::launch(tc::row_blocks(p), tc::kThreads, tc::DkvSharedLayout<T, D>::bytes,
                [&] { tc::attention_pair_bias_backward_dkv_mma_kernel<T, D>(p); });
    emu::launch(tc::bias_blocks(p), tc::kThreads, tc::DbiasSharedLayout<T, D>::bytes,
                [&] { tc::attention_pair_bias_backward_dbias_mma_kernel<T, D>(p); });
  }
  return {grad_q, grad_k, grad_v, grad_bias};
}

// fn.template operator()<T, D>() for the inputs' dtype and head dim.
template <typename Fn>
auto dispatch(const AttentionInputs& in, Fn&& fn) {
  const auto by_dim = [&]<typename T>() {
    switch (in.q.size(4)) {
      case 8:
        return fn.template operator()<T, 8>();
      case 16:
        return fn.template operator()<T, 16>();
      case 32:
        return fn.template operator()<T, 32>();
      default:
        return fn.template operator()<T, 64>();
    }
  };
  switch (in.q.scalar_type()) {
    case at::kFloat:
      return by_dim.template operator()<float>();
    case at::kBFloat16:
      return by_dim.template operator()<c10::BFloat16>();
    default:
      return by_dim.template operator()<c10::Half>();
  }
}

AttentionInputs as_float(const AttentionInputs& in) {
  return {in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat), in.bias.to(at::kFloat), in.mask};
}

// Output tolerances: fp32 sums in another order than the reference (2e-5, as the GPU tests); bf16 /
// fp16 outputs carry 8 / 11 significant bits, and in the tensor-core kernels the probabilities enter the
// P.V product rounded to the same precision (relative 2^-9 / 2^-12 per term); outputs are O(1).
// The log-sum-exp is fp32 (exact products of the rounded inputs on the tensor cores): 2e-5.
double out_atol(at::ScalarType dtype) { return dtype == at::kFloat ? 2e-5 : (dtype == at::kBFloat16 ? 1e-2 : 2e-3); }
constexpr double kLseTol = 2e-5;
// Gradients: fp32 1e-4 (another summation order); bf16 / fp16 rounded to 8 / 11 bits on output, and p
// and ds rounded to that precision before the tensor-core products.
double grad_atol(at::ScalarType dtype) { return dtype == at::kFloat ? 1e-4 : (dtype == at::kBFloat16 ? 5e-2 : 1e-2); }
double grad_rtol(at::ScalarType dtype) { return dtype == at::kFloat ? 1e-4 : (dtype == at::kBFloat16 ? 2e-2 : 4e-3); }

std::vector<at::ScalarType> dtypes(Kind kind) {
  if (kind == Kind::cuda_cores) return {at::kFloat, at::kBFloat16, at::kHalf};
  return {at::kBFloat16, at::kHalf};
}

// Head dims: the tensor-core kernels have no D = 8 (AlphaFold's extra-MSA attention stays on CUDA cores).
std::vector<AttentionShape> usable(Kind kind, const std::vector<AttentionShape>& shapes) {
  std::vector<AttentionShape> out;
  for (const auto& s : shapes) {
    if (kind == Kind::cuda_cores || s.D >= 16) out.push_back(s);
  }
  return out;
}

void check_forward(Kind kind, const std::vector<AttentionShape>& shapes) {
  for (const auto dtype : dtypes(kind)) {
    for (const auto& shape : usable(kind, shapes)) {
      for (const bool with_mask : {false, true}) {
        INFO(name(kind) << " " << kfold::test::describe(shape) << " dtype=" << dtype << " mask=" << with_mask);
        const auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), with_mask, with_mask);
        const auto [out, lse] = dispatch(in, [&]<typename T, int D>() { return forward<T, D>(kind, in); });
        const auto [ref_out, ref_lse] = call_attention_reference(as_float(in));
        CHECK(out.dtype() == dtype);
        check_close(out, ref_out, out_atol(dtype), 0.0, "out");
        check_close(lse, ref_lse, kLseTol, kLseTol, "lse");
      }
    }
  }
}

// The kernels' backward from the forward (out, lse) against the fp32 reference backward on the same rounded
// inputs and forward output, with random output and lse gradients.
void check_backward_from(Kind kind, const AttentionInputs& in, const at::Tensor& out, const at::Tensor& lse) {
  const auto dtype = in.q.scalar_type();
  const auto grad_out = at::randn(out.sizes(), at::TensorOptions().dtype(at::kFloat)).to(dtype);
  const auto grad_lse = at::randn(lse.sizes(), at::TensorOptions().dtype(at::kFloat));
  const auto fused =
      dispatch(in, [&]<typename T, int D>() { return backward<T, D>(kind, grad_out, grad_lse, in, out); });
  const auto ref = kern::attention_pair_bias_backward_reference(
      grad_out.to(at::kFloat), grad_lse, in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat),
      in.bias.to(at::kFloat), in.mask, out.to(at::kFloat), lse);
  const double atol = grad_atol(dtype), rtol = grad_rtol(dtype);
  CHECK(std::get<0>(fused).dtype() == dtype);
  check_close(std::get<0>(fused), std::get<0>(ref), atol, rtol, "grad_q");
  check_close(std::get<1>(fused), std::get<1>(ref), atol, rtol, "grad_k");
  check_close(std::get<2>(fused), std::get<2>(ref), atol, rtol, "grad_v");
  check_close(std::get<3>(fused), std::get<3>(ref), atol, rtol, "grad_bias");
}

void check_backward(Kind kind, const std::vector<AttentionShape>& shapes) {
  for (const auto dtype : dtypes(kind)) {
    for (const auto& shape : usable(kind, shapes)) {
      for (const bool with_mask : {false, true}) {
        INFO(name(kind) << " " << kfold::test::describe(shape) << " dtype=" << dtype << " mask=" << with_mask);
        const auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), with_mask, with_mask);
        const auto [out, lse] = kfold::test::call_attention_op(in);  // the CPU kernel's forward
        check_backward_from(kind, in, out, lse);
      }
    }
  }
}

// Rows and positions swapped in memory (the ending-node layout), the head dim strided for v, and a fully
// masked row (b 0, r 0): the uniform average of v over all keys, as in AlphaFold.
void check_strided_views(Kind kind, at::ScalarType dtype) {
  INFO(name(kind) << " dtype=" << dtype);
  const AttentionShape shape{1, 3, 70, 2, 32};
  const auto base = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), /*with_mask=*/true,
                                          /*fully_masked_row=*/true);
  AttentionInputs in = base;
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});
  const auto [out, lse] = dispatch(in, [&]<typename T, int D>() { return forward<T, D>(kind, in); });
  const auto [ref_out, ref_lse] = call_attention_reference(as_float(base));
  check_close(out, ref_out, out_atol(dtype), 0.0, "out");
  check_close(lse, ref_lse, kLseTol, kLseTol, "lse");
  const auto uniform = base.v.to(at::kFloat).select(1, 0).mean(/*dim=*/1, /*keepdim=*/true).expand({1, 70, 2, 32});
  check_close(out.select(1, 0), uniform, out_atol(dtype), 0.0, "fully masked row");
}

// The first 64 keys at -inf pair bias for every query (a whole key tile of every kernel): no NaN, the
// softmax over the other keys, forward and backward.
void check_minus_inf_key_tile(Kind kind, at::ScalarType dtype) {
  INFO(name(kind) << " dtype=" << dtype);
  const AttentionShape shape{1, 2, 80, 2, 32};
  auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), /*with_mask=*/true);
  in.bias.narrow(3, 0, 64).fill_(-std::numeric_limits<float>::infinity());
  const auto [out, lse] = dispatch(in, [&]<typename T, int D>() { return forward<T, D>(kind, in); });
  CHECK_FALSE(at::isnan(out.to(at::kFloat)).any().item<bool>());
  const auto [ref_out, ref_lse] = call_attention_reference(as_float(in));
  check_close(out, ref_out, out_atol(dtype), 0.0, "out");
  check_close(lse, ref_lse, kLseTol, kLseTol, "lse");
  check_backward_from(kind, in, out, lse);
}

}  // namespace

// S = 1 and 7: one partial tile; 64: exactly one (tensor cores); 70, 129, 300: partial last tiles of
// queries and keys for every tile size (16 to 128).
TEST_CASE("attention_pair_bias CUDA-core forward (CPU emulation) matches the reference: fp32/bf16/fp16") {
  check_forward(Kind::cuda_cores, {{1, 2, 1, 1, 16}, {2, 2, 7, 2, 8}, {1, 2, 129, 2, 32}, {1, 1, 70, 2, 64}});
}

TEST_CASE("attention_pair_bias tensor-core forward (CPU emulation) matches the reference: bf16/fp16") {
  check_forward(Kind::tensor_cores,
                {{1, 2, 1, 1, 16}, {2, 2, 7, 2, 32}, {1, 2, 64, 2, 64}, {1, 2, 70, 1, 32}, {1, 1, 129, 2, 16}});
}

TEST_CASE("attention_pair_bias CUDA kernels (CPU emulation): strided ending-node views, fully masked row") {
  check_strided_views(Kind::cuda_cores, at::kFloat);
  check_strided_views(Kind::cuda_cores, at::kBFloat16);
  check_strided_views(Kind::tensor_cores, at::kBFloat16);
}

TEST_CASE("attention_pair_bias CUDA-core backward (CPU emulation) matches the reference: fp32/bf16/fp16") {
  // S = 7 and 33: partial 16 x 16 dbias tiles and partial key / query tiles.
  check_backward(Kind::cuda_cores, {{1, 2, 7, 2, 16}, {1, 2, 33, 1, 8}, {1, 2, 33, 1, 32}, {1, 2, 20, 1, 64}});
}

TEST_CASE("attention_pair_bias tensor-core backward (CPU emulation) matches the reference: bf16/fp16") {
  // S = 7: partial tiles everywhere; 70: a full and a partial tile of queries and keys.
  check_backward(Kind::tensor_cores, {{1, 2, 7, 2, 16}, {1, 3, 70, 1, 32}, {1, 2, 70, 1, 64}});
}

TEST_CASE("attention_pair_bias CUDA kernels (CPU emulation): a -inf pair bias over a whole key tile") {
  check_minus_inf_key_tile(Kind::cuda_cores, at::kFloat);
  check_minus_inf_key_tile(Kind::tensor_cores, at::kBFloat16);
}

TEST_CASE("cuda_emulation: a misaligned WMMA pointer is reported") {
  namespace wmma = emu::wmma;
  alignas(32) c10::BFloat16 tile[16 * 24] = {};
  auto misaligned = [&] {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, c10::BFloat16, wmma::row_major> f;
    wmma::load_matrix_sync(f, tile + 1, 24);
  };
  CHECK_THROWS_AS(emu::launch(1, 32, 0, misaligned), std::runtime_error);
  auto aligned = [&] {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, c10::BFloat16, wmma::row_major> f;
    wmma::load_matrix_sync(f, tile, 24);
  };
  CHECK_NOTHROW(emu::launch(1, 32, 0, aligned));
}

TEST_CASE("attention_pair_bias CUDA backward's delta = dO . O - dlse: reads grad_out, never writes it") {
  // fp32: .to(kFloat) is grad_out itself, and the CUDA launcher once multiplied it in place by O.
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    INFO("dtype=" << dtype);
    const auto options = at::TensorOptions().dtype(dtype);
    const auto out = at::randn({2, 3, 5, 2, 8}, options);  // [B, R, S, H, D]
    const auto grad_out = at::randn({2, 3, 5, 2, 8}, options);
    const auto grad_lse = at::randn({2, 3, 2, 5});  // [B, R, H, S]
    const auto before = grad_out.clone();
    const auto delta = kern::attention_backward_delta(grad_out, out, grad_lse);
    CHECK(at::equal(grad_out, before));
    const auto expected = (grad_out.to(at::kDouble) * out.to(at::kDouble)).sum(-1).permute({0, 1, 3, 2}) - grad_lse;
    check_close(delta, expected.to(at::kFloat), 1e-5, 1e-5, "delta");
    // An expanded grad_out (out.sum().backward() passes ones of stride 0) is read, not written (that threw).
    const auto ones = at::ones({}, options).expand(out.sizes());
    check_close(kern::attention_backward_delta(ones, out, std::nullopt),
                out.to(at::kFloat).sum(-1).permute({0, 1, 3, 2}), 1e-5, 1e-5, "delta of ones");
  }
#ifdef KFOLD_WITH_CUDA
  CHECK_THROWS_AS(kern::attention_pair_bias_cuda_kernels(at::zeros({1, 1, 1, 1, 8})), c10::Error);  // a CPU tensor
#else
  CHECK(std::string(kern::attention_pair_bias_cuda_kernels(at::zeros({1, 1, 1, 1, 8})).forward) == "none");
#endif
}

// kfold::attention_pair_bias on the CPU: the fused kernels against the libtorch reference (forward, lse,
// gradients, fully masked rows, strided ending-node views), finite-difference gradients in fp64, results
// independent of the thread count, and every CPU level's copy of the kernels (AVX-512, AVX2, baseline).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "data/cpu_capability.hpp"
#include "kernels/attention_test_support.hpp"

using kfold::test::AttentionInputs;
using kfold::test::AttentionShape;
using kfold::test::call_attention_op;
using kfold::test::call_attention_reference;
using kfold::test::check_close;
using kfold::test::make_attention_inputs;

namespace {

// Tolerances: fp32 outputs are O(1) (averages of unit normals); the fused kernel sums in another order
// than the reference's GEMMs and uses a ~2 ulp exp, so 1e-5 absolute (+1e-5 relative) holds with margin.
constexpr double kAtolF32 = 1e-5, kRtolF32 = 1e-5;
// Gradients sum S (and R for dbias) products: 1e-4 absolute, 1e-4 relative.
constexpr double kAtolGradF32 = 1e-4, kRtolGradF32 = 1e-4;
// bf16 / fp16 outputs are rounded to 8 / 11 significant bits: compare to the fp32 reference of the same
// (rounded) inputs with half an ulp of 1 plus margin.
constexpr double kAtolBf16 = 1e-2, kAtolF16 = 2e-3;

// The reference in fp64, its results in fp32: libtorch's fp32 products differ from process to process (4e-5 in
// one lse in about 1 run of 20, with the fused result bitwise the same every time), fp64 ones far below 1e-5.
std::pair<at::Tensor, at::Tensor> reference_in_fp64(const AttentionInputs& in) {
  AttentionInputs in64 = in;
  for (at::Tensor* t : {&in64.q, &in64.k, &in64.v, &in64.bias}) *t = t->detach().to(at::kDouble);
  const auto [out, lse] = call_attention_reference(in64);
  return {out.to(at::kFloat), lse.to(at::kFloat)};
}

const std::vector<AttentionShape> kShapes = {
    {1, 2, 1, 1, 8}, {2, 3, 7, 2, 16}, {1, 4, 64, 4, 32}, {1, 3, 129, 2, 64}, {1, 2, 300, 2, 32}, {1, 2, 33, 3, 20},
};

at::TensorOptions f32() { return at::TensorOptions().dtype(at::kFloat); }
at::TensorOptions f64() { return at::TensorOptions().dtype(at::kDouble); }

void set_requires_grad(AttentionInputs& in) {
  in.q.requires_grad_(true);
  in.k.requires_grad_(true);
  in.v.requires_grad_(true);
  in.bias.requires_grad_(true);
}

// Gradients of sum(out * w_out) + sum(lse * w_lse) through `fn`, for q, k, v, bias.
template <typename Fn>
std::vector<at::Tensor> gradients(const AttentionInputs& in, const at::Tensor& w_out, const at::Tensor& w_lse, Fn fn) {
  auto [out, lse] = fn(in);
  auto loss = (out * w_out).sum() + (lse * w_lse).sum();
  return torch::autograd::grad({loss}, {in.q, in.k, in.v, in.bias});
}

// The fp32 gradients of q, k, v and bias through the fused op and through the reference agree.
void check_gradients_against_reference(const AttentionInputs& in, const at::Tensor& w_out, const at::Tensor& w_lse) {
  const auto fused = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
  const auto ref = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_reference(x); });
  const char* names[] = {"grad_q", "grad_k", "grad_v", "grad_bias"};
  for (int t = 0; t < 4; ++t) check_close(fused[t], ref[t], kAtolGradF32, kRtolGradF32, names[t]);
}

}  // namespace

TEST_CASE("attention_pair_bias: CPU forward matches the reference (fp32, S = 1, 7, 64, 129, 300)") {
  for (const auto& shape : kShapes) {
    for (const bool with_mask : {false, true}) {
      INFO(kfold::test::describe(shape) << " mask=" << with_mask);
      const auto in = make_attention_inputs(shape, f32(), with_mask);
      const auto [out, lse] = call_attention_op(in);
      const auto [ref_out, ref_lse] = call_attention_reference(in);
      CHECK(out.dtype() == at::kFloat);
      CHECK(lse.dtype() == at::kFloat);
      CHECK(lse.sizes() == at::IntArrayRef({shape.B, shape.R, shape.H, shape.S}));
      check_close(out, ref_out, kAtolF32, kRtolF32, "out");
      check_close(lse, ref_lse, kAtolF32, kRtolF32, "lse");
    }
  }
}

TEST_CASE("attention_pair_bias: fully masked rows average v uniformly, like AlphaFold's -1e9 bias") {
  const AttentionShape shape{1, 3, 37, 2, 16};
  const auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true, /*fully_masked_row=*/true);
  const auto [out, lse] = call_attention_op(in);
  const auto [ref_out, ref_lse] = call_attention_reference(in);
  check_close(out, ref_out, kAtolF32, kRtolF32, "out");
  // Ordinary rows as in the forward test; the fully masked row's lse is about -1e9, where only a relative
  // tolerance means anything (fp32 spacing there is 64).
  check_close(lse.slice(1, 1), ref_lse.slice(1, 1), kAtolF32, kRtolF32, "lse of rows with unmasked keys");
  check_close(lse.select(0, 0).select(0, 0), ref_lse.select(0, 0).select(0, 0), 0.0, 1e-6, "lse of the masked row");
  // Row (b = 0, r = 0): every key masked, so every query sees the mean of v over all keys.
  const auto row_out = out.select(0, 0).select(0, 0);                                   // [S, H, D]
  const auto mean_v = in.v.select(0, 0).select(0, 0).mean(0, true).expand_as(row_out);  // [S, H, D]
  check_close(row_out, mean_v, kAtolF32, kRtolF32, "fully masked row vs mean(v)");
  CHECK(lse.select(0, 0).select(0, 0).max().item<double>() < -9e8);
}

TEST_CASE("attention_pair_bias: strided ending-node views (transposed q, k, v) need no copy") {
  const AttentionShape shape{2, 5, 23, 2, 16};
  const auto base = make_attention_inputs(shape, f32(), /*with_mask=*/true);
  // Build [B, S, R, H, D] tensors and pass their transposes: strides of an ending-node view.
  AttentionInputs in = base;
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  in.v = base.v.permute({0, 1, 2, 4, 3}).contiguous().permute({0, 1, 2, 4, 3});  // D not unit-stride
  REQUIRE_FALSE(in.q.is_contiguous());
  REQUIRE_FALSE(in.v.is_contiguous());
  const auto [out, lse] = call_attention_op(in);
  const auto [ref_out, ref_lse] = reference_in_fp64(base);
  check_close(out, ref_out, kAtolF32, kRtolF32, "out");
  check_close(lse, ref_lse, kAtolF32, kRtolF32, "lse");
}

TEST_CASE("attention_pair_bias: bf16 and fp16 inputs on the CPU") {
  const AttentionShape shape{1, 3, 45, 2, 32};
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    INFO("dtype " << dtype);
    const auto in = make_attention_inputs(shape, at::TensorOptions().dtype(dtype), /*with_mask=*/true);
    const auto [out, lse] = call_attention_op(in);
    CHECK(out.dtype() == dtype);
    CHECK(lse.dtype() == at::kFloat);
    AttentionInputs in32{in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat), in.bias.to(at::kFloat),
                         in.mask};
    const auto [ref_out, ref_lse] = call_attention_reference(in32);
    check_close(out, ref_out, dtype == at::kBFloat16 ? kAtolBf16 : kAtolF16, 0.0, "out");
    check_close(lse, ref_lse, kAtolF32, kRtolF32, "lse");
  }
}

TEST_CASE("attention_pair_bias: CPU results do not depend on the thread count (bitwise)") {
  const AttentionShape shape{1, 6, 70, 2, 32};
  auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true);
  set_requires_grad(in);
  const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
  const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S});
  const int saved = at::get_num_threads();
  std::vector<std::vector<at::Tensor>> runs;
  for (const int threads : {1, 2, 3}) {
    at::set_num_threads(threads);
    auto [out, lse] = call_attention_op(in);
    auto grads = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
    grads.push_back(out.detach());
    grads.push_back(lse.detach());
    runs.push_back(grads);
  }
  at::set_num_threads(saved);
  for (size_t run = 1; run < runs.size(); ++run) {
    for (size_t t = 0; t < runs[0].size(); ++t) {
      INFO("run " << run << " tensor " << t);
      CHECK(at::equal(runs[run][t], runs[0][t]));
    }
  }
}

TEST_CASE("attention_pair_bias: each CPU level's kernels (AVX-512, AVX2, baseline) match the reference") {
  // The kernels are compiled once per level and data::cpu_capability() picks one at each call: lowering
  // it runs the other copies on this machine (levels above what the CPU has are skipped).
  struct RestoreLevel {
    ~RestoreLevel() { kfold::data::set_cpu_capability_limit(kfold::data::CpuCapability::avx512); }
  } restore;
  using kfold::data::CpuCapability;
  for (const auto level : {CpuCapability::baseline, CpuCapability::avx2, CpuCapability::avx512}) {
    if (level > kfold::data::cpu_capability_supported()) continue;
    kfold::data::set_cpu_capability_limit(level);
    REQUIRE(kfold::data::cpu_capability() == level);
    // D = 16 and 64 (head dims fixed at compile time) and 20 (any D); 129 keys: a partial block.
    for (const AttentionShape shape :
         {AttentionShape{2, 3, 7, 2, 16}, AttentionShape{1, 3, 129, 2, 64}, AttentionShape{1, 2, 33, 3, 20}}) {
      INFO(kfold::data::cpu_capability_name(level) << " " << kfold::test::describe(shape));
      auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true);
      const auto [out, lse] = call_attention_op(in);
      const auto [ref_out, ref_lse] = reference_in_fp64(in);
      check_close(out, ref_out, kAtolF32, kRtolF32, "out");
      check_close(lse, ref_lse, kAtolF32, kRtolF32, "lse");
      set_requires_grad(in);
      const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
      const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S});
      check_gradients_against_reference(in, w_out, w_lse);
      // A constant pair bias of 1e3 leaves the softmax as it was and moves lse past the backward's
      // exact-row-statistics threshold (|lse| > 128). Tolerance 1e-3: fp32 logits near 1e3 carry 6e-5.
      auto shifted = in;
      shifted.bias = (in.bias.detach() + 1e3).requires_grad_(true);
      const auto moved = gradients(shifted, w_out, at::zeros_like(w_lse),
                                   [](const AttentionInputs& x) { return call_attention_op(x); });
      const auto unmoved =
          gradients(in, w_out, at::zeros_like(w_lse), [](const AttentionInputs& x) { return call_attention_op(x); });
      for (int t = 0; t < 4; ++t) check_close(moved[t], unmoved[t], 1e-3, 1e-3, "gradient " + std::to_string(t));
    }
    // bf16 inputs: the same kernels on rounded inputs, against the fp32 reference of those inputs.
    auto in = make_attention_inputs({1, 2, 64, 2, 32}, f32(), /*with_mask=*/true);
    auto in16 = in;
    for (at::Tensor* t : {&in16.q, &in16.k, &in16.v}) *t = t->to(at::kBFloat16);
    for (at::Tensor* t : {&in.q, &in.k, &in.v}) *t = t->to(at::kBFloat16).to(at::kFloat);
    check_close(std::get<0>(call_attention_op(in16)).to(at::kFloat), std::get<0>(reference_in_fp64(in)), kAtolBf16, 0.0,
                "bf16 out");
  }
}

TEST_CASE("attention_pair_bias: CPU gradients match autograd through the reference (fp32)") {
  for (const auto& shape : kShapes) {
    if (shape.S > 129) continue;  // the reference's [B,R,H,S,S] autograd graph: keep this test fast
    for (const bool with_mask : {false, true}) {
      INFO(kfold::test::describe(shape) << " mask=" << with_mask);
      auto in = make_attention_inputs(shape, f32(), with_mask);
      set_requires_grad(in);
      const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
      const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S});
      check_gradients_against_reference(in, w_out, w_lse);
    }
  }
}

TEST_CASE("attention_pair_bias: CPU backward on strided views, fully masked rows and out-only gradients") {
  const AttentionShape shape{1, 4, 41, 2, 16};
  auto base = make_attention_inputs(shape, f32(), /*with_mask=*/true, /*fully_masked_row=*/true);
  AttentionInputs in = base;
  in.q = base.q.transpose(1, 2).contiguous().transpose(1, 2);
  in.k = base.k.transpose(1, 2).contiguous().transpose(1, 2);
  set_requires_grad(in);
  set_requires_grad(base);
  const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
  // A gradient through lse too: in the fully masked row lse = -1e9 + log S, rounded in fp32.
  const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S});
  const auto fused = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
  const auto ref = gradients(base, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_reference(x); });
  const char* names[] = {"grad_q", "grad_k", "grad_v", "grad_bias"};
  for (int t = 0; t < 4; ++t) check_close(fused[t], ref[t], kAtolGradF32, kRtolGradF32, names[t]);
  // Only `out` used: the lse gradient arrives undefined and the backward must cope.
  auto [out, lse] = call_attention_op(in);
  (void)lse;
  const auto only_out = torch::autograd::grad({(out * w_out).sum()}, {in.q, in.k, in.v, in.bias});
  const auto ref_out_only = gradients(base, w_out, at::zeros_like(w_lse),
                                      [](const AttentionInputs& x) { return call_attention_reference(x); });
  for (int t = 0; t < 4; ++t) check_close(only_out[t], ref_out_only[t], kAtolGradF32, kRtolGradF32, names[t]);
  // The lse gradient alone reaches dbias as sum over rows of w_lse * softmax: per key row, summed over keys,
  // exactly sum_r w_lse (the softmax sums to 1), fully masked row included.
  const auto lse_only =
      gradients(in, at::zeros_like(w_out), w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
  check_close(lse_only[3].sum(-1), w_lse.sum(1), 1e-5, 1e-5, "dbias key sums vs sum_r w_lse");
}

TEST_CASE("attention_pair_bias: backward accurate when |lse| is large (a constant pair bias of 1e5)") {
  // The probabilities were exp(s - lse) with one fp32 lse, exact to its ulp: 1e-2 relative errors in the
  // gradients at |lse| = 1e5 and 25 % at 4e6. Inputs on a grid (q scaled to +-0.125 or 0, k in -1, 0, 1, the
  // bias a multiple of 1/4 plus c) make every fp32 logit exact, so the fp64 softmax of the same logits is the
  // reference: dv = p^T dO and dbias = p (dp - delta).
  const AttentionShape shape{1, 1, 70, 2, 16};
  for (const double c : {1e5, -4e6}) {
    INFO("bias offset " << c);
    auto in = make_attention_inputs(shape, f32(), /*with_mask=*/false);
    in.q = at::sign(in.q) * 0.5;  // x 1/sqrt(16)
    in.k = at::round(in.k);
    in.k.clamp_(-1, 1);
    in.bias = at::round(in.bias * 4) / 4 + static_cast<float>(c);
    set_requires_grad(in);
    const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
    const auto fused = gradients(in, w_out, at::zeros({shape.B, shape.R, shape.H, shape.S}),
                                 [](const AttentionInputs& x) { return call_attention_op(x); });
    // Logits [B, R, H, S, S] as the kernel forms them in fp32, then everything in fp64.
    const auto q = in.q.detach().permute({0, 1, 3, 2, 4}) / std::sqrt(static_cast<double>(shape.D));
    const auto k = in.k.detach().permute({0, 1, 3, 2, 4});
    const auto logits = (at::matmul(q, k.transpose(-1, -2)) + in.bias.detach().unsqueeze(1)).to(at::kDouble);
    const auto p = at::softmax(logits, -1);
    const auto d_out = w_out.permute({0, 1, 3, 2, 4}).to(at::kDouble);  // [B, R, H, S, D]
    const auto v = in.v.detach().permute({0, 1, 3, 2, 4}).to(at::kDouble);
    const auto grad_v = at::matmul(p.transpose(-1, -2), d_out).permute({0, 1, 3, 2, 4});
    const auto dp = at::matmul(d_out, v.transpose(-1, -2));
    const auto grad_bias = (p * (dp - (dp * p).sum(-1, true))).sum(1);
    check_close(fused[2].to(at::kDouble), grad_v, kAtolGradF32, kRtolGradF32, "grad_v");
    check_close(fused[3].to(at::kDouble), grad_bias, kAtolGradF32, kRtolGradF32, "grad_bias");
  }
}

TEST_CASE("attention_pair_bias: a mask changed in place after the forward is an error in backward") {
  const AttentionShape shape{1, 2, 9, 2, 16};
  auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true);
  set_requires_grad(in);
  auto [out, lse] = call_attention_op(in);
  (void)lse;
  in.mask->fill_(1);  // the saved mask is version-tracked: the gradients would be silently wrong
  CHECK_THROWS(torch::autograd::grad({out.sum()}, {in.q}));
}

TEST_CASE("attention_pair_bias: fully masked rows add the mask before the pair bias, as AlphaFold") {
  // AlphaFold: logits = q.k + mask bias, then + pair bias. In fp32 -1e9 absorbs what is added to it first,
  // so a fully masked row sees fl(fl(q.k - 1e9) + bias); with |q.k| and |bias| up to ~100 the order shows.
  const AttentionShape shape{1, 2, 29, 2, 16};
  auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true, /*fully_masked_row=*/true);
  in.q = in.q * 12;
  in.bias = in.bias * 40;
  const double scale = 1.0 / std::sqrt(16.0);
  auto logits = at::einsum("brqhd,brkhd->brhqk", {in.q * scale, in.k});               // [B, R, H, S, S]
  logits = logits + ((in.mask->to(at::kFloat) - 1) * 1e9).unsqueeze(2).unsqueeze(2);  // + [B, R, 1, 1, S]
  logits = logits + in.bias.unsqueeze(1);                                             // + [B, 1, H, S, S]
  const auto expected = at::einsum("brhqk,brkhd->brqhd", {at::softmax(logits, -1), in.v});
  const auto [out, lse] = call_attention_op(in);
  // The masked row (b 0, r 0) is not the plain mean of v here, so the order is what the check sees.
  const auto mean_v = in.v.select(0, 0).select(0, 0).mean(0, true);  // [1, H, D]
  REQUIRE((expected.select(0, 0).select(0, 0) - mean_v).abs().max().item<double>() > 0.1);
  check_close(out, expected, kAtolF32, kRtolF32, "out vs AlphaFold's order");
  const auto [ref_out, ref_lse] = call_attention_reference(in);
  check_close(ref_out, expected, kAtolF32, kRtolF32, "reference vs AlphaFold's order");
}

TEST_CASE("attention_pair_bias: a -inf pair bias over a whole block of keys gives no NaN") {
  // The first 64 keys (one block of the CPU kernel) at -inf for every query: the online softmax starts from
  // a block whose max is -inf. The rest of the row is finite, so the result is the softmax over keys 64..79.
  const AttentionShape shape{1, 2, 80, 2, 32};
  auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true);
  in.bias.narrow(3, 0, 64).fill_(-std::numeric_limits<float>::infinity());
  set_requires_grad(in);
  const auto [out, lse] = call_attention_op(in);
  CHECK_FALSE(at::isnan(out).any().item<bool>());
  const auto [ref_out, ref_lse] = reference_in_fp64(in);
  check_close(out, ref_out, kAtolF32, kRtolF32, "out");
  check_close(lse, ref_lse, kAtolF32, kRtolF32, "lse");
  const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D});
  const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S});
  const auto fused = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
  const auto ref = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_reference(x); });
  const char* names[] = {"grad_q", "grad_k", "grad_v", "grad_bias"};
  for (int t = 0; t < 4; ++t) check_close(fused[t], ref[t], kAtolGradF32, kRtolGradF32, names[t]);
}

TEST_CASE("attention_pair_bias: a second derivative through the fused op is refused, not zero") {
  auto in = make_attention_inputs({1, 2, 9, 2, 8}, f64(), /*with_mask=*/false);
  set_requires_grad(in);
  auto [out, lse] = call_attention_op(in);
  std::string message;
  try {
    torch::autograd::grad({out.square().sum()}, {in.q}, {}, /*retain_graph=*/true, /*create_graph=*/true);
  } catch (const std::exception& e) {
    message = e.what();
  }
  CHECK(message.find("no double backward") != std::string::npos);
  // Without create_graph the first derivative is fine.
  CHECK(torch::autograd::grad({out.square().sum()}, {in.q})[0].defined());
}

TEST_CASE("attention_pair_bias: fused backward op matches the reference backward") {
  const AttentionShape shape{2, 3, 77, 2, 32};
  const auto in = make_attention_inputs(shape, f32(), /*with_mask=*/true);
  const auto [out, lse] = call_attention_op(in);
  const auto grad_out = at::randn_like(out), grad_lse = at::randn_like(lse);
  const auto fused = kfold::test::call_attention_backward_op(grad_out, grad_lse, in, out, lse);
  const auto ref = kfold::kernels::attention_pair_bias_backward_reference(grad_out, grad_lse, in.q, in.k, in.v, in.bias,
                                                                          in.mask, out, lse);
  check_close(std::get<0>(fused), std::get<0>(ref), kAtolGradF32, kRtolGradF32, "grad_q");
  check_close(std::get<1>(fused), std::get<1>(ref), kAtolGradF32, kRtolGradF32, "grad_k");
  check_close(std::get<2>(fused), std::get<2>(ref), kAtolGradF32, kRtolGradF32, "grad_v");
  check_close(std::get<3>(fused), std::get<3>(ref), kAtolGradF32, kRtolGradF32, "grad_bias");
}

TEST_CASE("attention_pair_bias: fp64 gradients match central finite differences (gradcheck)") {
  // Small sizes, every element: d/dx [sum(out * w_out) + sum(lse * w_lse)] by (f(x+e) - f(x-e)) / 2e.
  for (const bool with_mask : {false, true}) {
    INFO("mask=" << with_mask);
    const AttentionShape shape{1, 2, 5, 2, 3};
    auto in = make_attention_inputs(shape, f64(), with_mask, /*fully_masked_row=*/false, 11);
    set_requires_grad(in);
    const auto w_out = at::randn({shape.B, shape.R, shape.S, shape.H, shape.D}, f64());
    const auto w_lse = at::randn({shape.B, shape.R, shape.H, shape.S}, f64());
    const auto analytic = gradients(in, w_out, w_lse, [](const AttentionInputs& x) { return call_attention_op(x); });
    const double eps = 1e-6;
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> inputs = {in.q.detach().clone(), in.k.detach().clone(), in.v.detach().clone(),
                                      in.bias.detach().clone()};
    auto loss = [&] {
      AttentionInputs x{inputs[0], inputs[1], inputs[2], inputs[3], in.mask};
      auto [out, lse] = call_attention_op(x);
      return ((out * w_out).sum() + (lse * w_lse).sum()).item<double>();
    };
    for (int t = 0; t < 4; ++t) {
      auto flat = inputs[t].view({-1});
      auto numeric = at::zeros_like(flat);
      for (int64_t e = 0; e < flat.numel(); ++e) {
        const double x0 = flat[e].item<double>();
        flat[e].fill_(x0 + eps);
        const double up = loss();
        flat[e].fill_(x0 - eps);
        const double down = loss();
        flat[e].fill_(x0);
        numeric[e].fill_((up - down) / (2 * eps));
      }
      INFO("input " << t);
      check_close(analytic[t].reshape({-1}), numeric, 1e-6, 1e-6, "analytic vs numeric gradient");
    }
  }
}

TEST_CASE("attention_pair_bias: bad arguments are rejected, the message naming what was given") {
  const auto in = make_attention_inputs({1, 2, 5, 2, 4}, f32(), /*with_mask=*/true);
  // Each message names the argument and what it got (the dtype one said only "must share a dtype").
  const auto message_of = [](const AttentionInputs& args) -> std::string {
    try {
      call_attention_op(args);
    } catch (const c10::Error& e) {
      return e.what_without_backtrace();
    }
    return "no error";
  };
  AttentionInputs bad = in;
  bad.bias = at::zeros({1, 2, 5, 4});
  CHECK(message_of(bad).find("bias must be [B, H, S, S] = [1, 2, 5, 5], got [1, 2, 5, 4]") != std::string::npos);
  bad = in;
  bad.mask = at::ones({1, 5, 2});
  CHECK(message_of(bad).find("mask must be [B, R, S] = [1, 2, 5], got [1, 5, 2]") != std::string::npos);
  bad = in;
  bad.k = in.k.to(at::kDouble);
  CHECK(message_of(bad).find("q, k, v must share a dtype, got Float, Double, Float") != std::string::npos);
  bad = in;
  bad.q = in.q.select(4, 0);
  CHECK(message_of(bad).find("q must be [B, R, S, H, D], got [1, 2, 5, 2]") != std::string::npos);
  // The C++ entry point and a bool mask give the same result as a float mask.
  const auto [out_bool, lse_bool] =
      kfold::kernels::attention_pair_bias(in.q, in.k, in.v, in.bias, in.mask->to(at::kBool));
  const auto [out, lse] = call_attention_op(in);
  CHECK(at::equal(out_bool, out));
  CHECK(at::equal(lse_bool, lse));
}

TEST_CASE("attention_pair_bias: the backward op refuses grad_out, out, lse or grad_lse of another shape") {
  // A grad_out of [1, R, S, H, D] with B = 2 broadcast in dO . O and was then read past its end.
  const auto in = make_attention_inputs({2, 2, 5, 2, 4}, f32(), /*with_mask=*/true);
  const auto [out, lse] = call_attention_op(in);
  const auto grad_out = at::randn_like(out), grad_lse = at::randn_like(lse);
  const auto backward = [&](const at::Tensor& go, const at::Tensor& gl, const at::Tensor& o, const at::Tensor& l) {
    return kfold::test::call_attention_backward_op(go, gl, in, o, l);
  };
  CHECK_NOTHROW(backward(grad_out, grad_lse, out, lse));
  CHECK_THROWS_WITH_AS(backward(grad_out.narrow(0, 0, 1), grad_lse, out, lse),
                       doctest::Contains("grad_out and out must be shaped like q"), c10::Error);
  CHECK_THROWS_AS(backward(grad_out, grad_lse, out.narrow(2, 0, 4), lse), c10::Error);
  CHECK_THROWS_WITH_AS(backward(grad_out, grad_lse.narrow(3, 0, 1), out, lse),
                       doctest::Contains("grad_lse must be [B, R, H, S]"), c10::Error);
  CHECK_THROWS_WITH_AS(backward(grad_out, grad_lse, out, lse.transpose(2, 3)),
                       doctest::Contains("lse must be [B, R, H, S]"), c10::Error);
  // Another dtype: the CPU kernels rounded it to q's, CUDA's fell back to the reference and kept it.
  CHECK_THROWS_WITH_AS(backward(grad_out.to(at::kDouble), grad_lse, out, lse),
                       doctest::Contains("grad_out and out must have q's dtype Float, got Double and Float"),
                       c10::Error);
  CHECK_THROWS_AS(kfold::kernels::attention_pair_bias_backward_reference(grad_out.narrow(0, 0, 1), grad_lse, in.q, in.k,
                                                                         in.v, in.bias, in.mask, out, lse),
                  c10::Error);
}

TEST_CASE("attention_pair_bias: meta tensors give the kernels' shapes and dtypes, after the same checks") {
  // Tracing with fake tensors (torch.compile, torch.export) refused the op: it had no Meta kernel.
  const auto meta = [](const at::Tensor& t) { return t.to(at::kMeta); };
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    CAPTURE(c10::toString(dtype));
    const auto in = make_attention_inputs({2, 3, 7, 2, 8}, at::TensorOptions().dtype(dtype), /*with_mask=*/true);
    const auto [out, lse] = call_attention_op(in);
    AttentionInputs fake{meta(in.q), meta(in.k), meta(in.v), meta(in.bias), meta(*in.mask)};
    const auto [fake_out, fake_lse] = call_attention_op(fake);
    CHECK(fake_out.is_meta());
    CHECK(fake_out.sizes() == out.sizes());
    CHECK((fake_out.scalar_type() == out.scalar_type()));
    CHECK(fake_lse.sizes() == lse.sizes());
    CHECK((fake_lse.scalar_type() == lse.scalar_type()));
    const auto grads = kfold::kernels::attention_pair_bias_backward(at::ones_like(out), std::nullopt, in.q, in.k, in.v,
                                                                    in.bias, in.mask, out, lse);
    const auto fake_grads = kfold::kernels::attention_pair_bias_backward(
        meta(at::ones_like(out)), std::nullopt, fake.q, fake.k, fake.v, fake.bias, fake.mask, fake_out, fake_lse);
    CHECK(std::get<0>(fake_grads).sizes() == std::get<0>(grads).sizes());
    CHECK((std::get<0>(fake_grads).scalar_type() == std::get<0>(grads).scalar_type()));
    CHECK(std::get<3>(fake_grads).sizes() == std::get<3>(grads).sizes());
    CHECK((std::get<3>(fake_grads).scalar_type() == std::get<3>(grads).scalar_type()));
    fake.bias = meta(at::zeros({2, 2, 7, 6}));
    CHECK_THROWS_WITH_AS(call_attention_op(fake), doctest::Contains("bias must be [B, H, S, S]"), c10::Error);
  }
}

// matmul_transposed (fold/cpu_matmul.hpp): oneDNN's products against at::addmm computed in float64, at the
// model's shapes and odd ones (empty too), with bias, fused ReLU and strided operands; bitwise the same for any thread
// count (kfold's determinism promise). Tolerance: 1e-5 relative to sqrt(k) * max|a| * max|b| (fp32 sums of
// k products; measured: 2e-7 to 4e-7 of it).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include <tuple>
#include <vector>

#include "fold/cpu_matmul.hpp"

namespace {

using kfold::fold::matmul_transposed;

at::Tensor reference(const at::Tensor& a, const at::Tensor& b_t, const at::Tensor& bias, bool relu) {
  auto y = a.to(at::kDouble).matmul(b_t.to(at::kDouble).t());  // [m, n]
  if (bias.defined()) y = y.add(bias.to(at::kDouble));
  return relu ? y.relu() : y;
}

void check_close(const at::Tensor& got, const at::Tensor& want, int64_t k) {
  REQUIRE(got.sizes() == want.sizes());
  if (got.numel() == 0) return;
  const double scale = std::sqrt(static_cast<double>(k)) * 3.0 * 3.0;  // inputs are clamped to [-3, 3]
  CHECK(got.to(at::kDouble).sub(want).abs().max().item<double>() <= 1e-5 * scale);
}

at::Tensor randn(std::vector<int64_t> shape) { return at::randn(shape).clamp(-3, 3); }

}  // namespace

TEST_CASE("matmul_transposed takes oneDNN on this CPU build for float32, and not for other dtypes") {
  // The fast path must really be exercised by this suite (libtorch's CPU wheel is built with oneDNN).
  CHECK(kfold::fold::uses_onednn(at::zeros({2, 2})));
  CHECK_FALSE(kfold::fold::uses_onednn(at::zeros({2, 2}, at::kDouble)));
  CHECK_FALSE(kfold::fold::uses_onednn(at::zeros({2, 2}, at::kBFloat16)));
}

TEST_CASE("matmul_transposed equals the float64 product: bias, ReLU, model shapes and odd ones") {
  at::manual_seed(3);
  // (m, k, n): MSA transition, pair projections, outer product mean, attention's bias, odd and empty sizes.
  for (const auto& [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{4096, 256, 1024},
                                                                                  {4096, 1024, 256},
                                                                                  {1024, 128, 128},
                                                                                  {640, 1024, 128},
                                                                                  {1, 7, 3},
                                                                                  {37, 129, 5},
                                                                                  {0, 8, 4},
                                                                                  {3, 0, 2},
                                                                                  {3, 8, 0}}) {
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(n);
    const auto a = randn({m, k}), b_t = randn({n, k}), bias = randn({n});
    for (const bool relu : {false, true}) {
      CAPTURE(relu);
      check_close(matmul_transposed(a, b_t, bias, relu), reference(a, b_t, bias, relu), k);
      check_close(matmul_transposed(a, b_t, at::Tensor(), relu), reference(a, b_t, at::Tensor(), relu), k);
    }
  }
}

TEST_CASE("matmul_transposed reads strided operands: transposed weights (AlphaFold stores in x out), sliced rows") {
  at::manual_seed(4);
  const auto weights = randn({128, 96});                // [c_in, c_out], as stored
  const auto rows = randn({300, 2, 128}).select(1, 1);  // [300, 128], row stride 256
  const auto channels_first_a = randn({64, 128}).t();   // [128, 64], column-major
  const auto bias = randn({96});
  check_close(matmul_transposed(rows, weights.t(), bias), reference(rows, weights.t(), bias, false), 128);
  check_close(matmul_transposed(weights.t(), rows, at::Tensor()), reference(weights.t(), rows, at::Tensor(), false),
              128);
  check_close(matmul_transposed(channels_first_a, weights.narrow(0, 0, 64).t(), at::Tensor()),
              reference(channels_first_a, weights.narrow(0, 0, 64).t(), at::Tensor(), false), 64);
}

TEST_CASE("matmul_transposed in bfloat16 (the fallback) stays near float32") {
  at::manual_seed(5);
  const auto a = randn({64, 256}), b_t = randn({32, 256}), bias = randn({32});
  const auto got = matmul_transposed(a.to(at::kBFloat16), b_t, bias);  // weights cast to a's dtype
  CHECK((got.scalar_type() == at::kBFloat16));
  // bfloat16 inputs: 8 significant bits, relative error ~2^-8 per product.
  CHECK(got.to(at::kDouble).sub(reference(a, b_t, bias, false)).abs().max().item<double>() <= 0.05 * 16 * 9);
}

TEST_CASE("matmul_transposed gives bitwise-identical results for 1, 2 and 3 threads") {
  at::manual_seed(6);
  const int saved = at::get_num_threads();
  for (const auto& [m, k, n] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{4096, 256, 1024}, {4096, 1024, 256}, {16, 4096, 8}}) {
    CAPTURE(m);
    const auto a = randn({m, k}), b_t = randn({n, k}), bias = randn({n});
    std::vector<at::Tensor> results;
    for (const int threads : {1, 2, 3}) {
      at::set_num_threads(threads);
      results.push_back(matmul_transposed(a, b_t, bias, true));
    }
    CHECK(at::equal(results[0], results[1]));
    CHECK(at::equal(results[0], results[2]));
  }
  at::set_num_threads(saved);
}

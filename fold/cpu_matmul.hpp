// Matrix products of the model's linear layers on the CPU through oneDNN, which libtorch bundles:
// torch's own fp32 GEMM (MKL) runs its AVX2 code on AMD CPUs and reaches about half the speed of
// oneDNN's AVX-512 kernels at the model's shapes (scripts/bench_model; 1.3-2.2x per product).
// Anywhere else (GPU, other dtypes, a libtorch without oneDNN, KFOLD_ONEDNN=0) it is at::addmm.
#pragma once

#include <ATen/core/Tensor.h>

namespace kfold::fold {

// a [m, k] @ b_t[n, k]^T (+ bias [n]) -> [m, n] in a's dtype; relu applies max(0, .) to the result.
// Any strides; bias may be undefined. Bitwise independent of the thread count either way.
at::Tensor matmul_transposed(const at::Tensor& a, const at::Tensor& b_t, const at::Tensor& bias, bool relu = false);

// Whether this libtorch offers the oneDNN product (and KFOLD_ONEDNN=0 is not set), and whether
// matmul_transposed takes it for a tensor like `a` (float32 on the CPU).
bool onednn_available();
bool uses_onednn(const at::Tensor& a);

}  // namespace kfold::fold

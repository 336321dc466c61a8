// The CUDA allocator peak that `kfold predict` logs per model (kernels/runtime_info.hpp): -1 without a
// GPU, and on a GPU at least the bytes of a tensor allocated after a reset. Label gpu; the no-GPU half
// runs everywhere.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <doctest/doctest.h>

#include "kernels/cuda_memory.hpp"

TEST_CASE("cuda memory stats: -1 without a GPU, the allocator's peak with one") {
  if (!at::hasCUDA()) {
    kfold::kernels::cuda_reset_peak_allocated(0);  // a no-op, never a crash
    CHECK(kfold::kernels::cuda_peak_allocated_bytes(0) == -1);
    return;
  }
  auto warm = at::zeros({1}, at::TensorOptions().device(at::kCUDA));  // the allocator is initialised
  kfold::kernels::cuda_reset_peak_allocated(0);
  const int64_t before = kfold::kernels::cuda_peak_allocated_bytes(0);
  {
    auto big = at::empty({64 << 20}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA));  // 64 MiB
    CHECK(kfold::kernels::cuda_peak_allocated_bytes(0) >= before + (64 << 20));
  }
  kfold::kernels::cuda_reset_peak_allocated(0);  // the peak drops back to what is held now
  CHECK(kfold::kernels::cuda_peak_allocated_bytes(0) < before + (64 << 20));
}

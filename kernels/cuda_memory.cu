// GPU memory facts through the CUDA runtime and torch's caching allocator (kernels/cuda_memory.hpp).
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime.h>

#include "kernels/cuda_memory.hpp"

namespace kfold::kernels {

int64_t cuda_free_memory_bytes(int64_t index) {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess || cudaSetDevice(static_cast<int>(index)) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  size_t free_bytes = 0, total_bytes = 0;
  const bool ok = cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
  cudaSetDevice(previous);
  if (!ok) cudaGetLastError();
  return ok ? static_cast<int64_t>(free_bytes) : -1;
}

int64_t cuda_peak_allocated_bytes(int64_t index) {
  try {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    return stats.allocated_bytes[0].peak;  // [0]: the aggregate over pool kinds
  } catch (const c10::Error&) {
    return -1;
  }
}

void cuda_reset_peak_allocated(int64_t index) {
  try {
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
  } catch (const c10::Error&) {
  }
}

}  // namespace kfold::kernels

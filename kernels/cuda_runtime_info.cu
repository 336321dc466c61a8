// CUDA runtime and device facts for `kfold --version`, free memory for the memory guard and torch's
// allocator peak for `kfold predict`'s log (built only with KFOLD_CUDA).
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime.h>

#include <string>

#include "kernels/cuda_runtime_info.hpp"

namespace kfold::kernels {
namespace {

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

}  // namespace

void fill_cuda_info(RuntimeInfo& info) {
  info.cuda_compiled = true;
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) info.cuda_runtime = version_string(runtime);
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) info.cuda_driver = version_string(driver);
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    info.cuda_devices.push_back({i, prop.name, static_cast<int64_t>(prop.totalGlobalMem), prop.major, prop.minor});
  }
}

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

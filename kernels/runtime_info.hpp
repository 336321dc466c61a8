// What the compute runtime offers: libtorch version, CUDA (compiled in, runtime, devices)
// and OpenMP. Reported by `kfold --version`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kfold::kernels {

struct CudaDevice {
  int64_t index = 0;
  std::string name;
  int64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct RuntimeInfo {
  std::string torch_version;
  bool cuda_compiled = false;  // kfold's CUDA kernels were built
  std::string cuda_runtime;    // e.g. "13.0" (empty when not compiled)
  std::string cuda_driver;     // driver's CUDA version (empty when no driver)
  std::vector<CudaDevice> cuda_devices;
  bool openmp = false;
  int64_t openmp_max_threads = 0;
  int64_t torch_threads = 0;
  std::string malloc_name;  // "tcmalloc" when the process runs on it (the kfold executable), else "glibc"
};

RuntimeInfo runtime_info();

}  // namespace kfold::kernels

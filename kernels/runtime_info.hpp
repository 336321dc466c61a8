// What the compute runtime offers: libtorch version, CUDA (compiled in, runtime, devices)
// and OpenMP. Reported by `kfold --version` and used to validate --device choices.
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

// True when tcmalloc serves this process's malloc and keeps freed memory for reuse (its default, and why
// the kfold executable links it: no page faults for each new large tensor).
bool malloc_retains_freed_memory();
// Asks tcmalloc to hand freed memory back to the system at once (tcmalloc.aggressive_memory_decommit, as
// TCMALLOC_AGGRESSIVE_DECOMMIT=true): less resident memory, slower. False when not on tcmalloc.
bool malloc_release_freed_memory();

// Free memory of CUDA device `index` as the driver reports it; -1 without CUDA or on any error.
int64_t cuda_free_memory_bytes(int64_t index);

// Peak bytes allocated through torch's CUDA caching allocator on device `index` since the last
// cuda_reset_peak_allocated (which sets it to the current use); -1 without CUDA or on any error.
int64_t cuda_peak_allocated_bytes(int64_t index);
void cuda_reset_peak_allocated(int64_t index);

}  // namespace kfold::kernels

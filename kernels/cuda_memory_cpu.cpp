// CPU-only build of kernels/cuda_memory.hpp: no GPU memory to report.
#include "kernels/cuda_memory.hpp"

namespace kfold::kernels {

int64_t cuda_free_memory_bytes(int64_t) { return -1; }

int64_t cuda_peak_allocated_bytes(int64_t) { return -1; }

void cuda_reset_peak_allocated(int64_t) {}

}  // namespace kfold::kernels

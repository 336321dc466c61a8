// CPU-only build of fill_cuda_info(): kfold was built without its CUDA kernels.
#include "kernels/cuda_runtime_info.hpp"

namespace kfold::kernels {

void fill_cuda_info(RuntimeInfo& info) { info.cuda_compiled = false; }

int64_t cuda_free_memory_bytes(int64_t) { return -1; }

int64_t cuda_peak_allocated_bytes(int64_t) { return -1; }

void cuda_reset_peak_allocated(int64_t) {}

}  // namespace kfold::kernels

// CPU-only build of fill_cuda_info(): kfold was built without its CUDA kernels.
#include "kernels/cuda_runtime_info.hpp"

namespace kfold::kernels {

void fill_cuda_info(RuntimeInfo& info) { info.cuda_compiled = false; }

}  // namespace kfold::kernels

// CUDA part of runtime_info(): compiled as CUDA when KFOLD_CUDA is on, else a CPU-only stub
// that reports "not compiled".
#pragma once

#include "kernels/runtime_info.hpp"

namespace kfold::kernels {

// Fills cuda_compiled, cuda_runtime, cuda_driver and cuda_devices. Never throws: a machine
// without a driver or GPU simply has no devices.
void fill_cuda_info(RuntimeInfo& info);

}  // namespace kfold::kernels

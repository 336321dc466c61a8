// GPU memory facts: a device's free memory (the memory guard) and torch's caching-allocator peak (kfold
// predict's log). Built as CUDA with KFOLD_CUDA (cuda_memory.cu), else answering "unknown" (cuda_memory_cpu.cpp).
#pragma once

#include <cstdint>

namespace kfold::kernels {

// Free memory of CUDA device `index` as the driver reports it; -1 without CUDA or on any error.
int64_t cuda_free_memory_bytes(int64_t index);

// Peak bytes allocated through torch's CUDA caching allocator on device `index` since the last
// cuda_reset_peak_allocated (which sets it to the current use); -1 without CUDA or on any error.
int64_t cuda_peak_allocated_bytes(int64_t index);
void cuda_reset_peak_allocated(int64_t index);

}  // namespace kfold::kernels

// Included first by the device-code headers of kernels/ (attention_pair_bias_simt.cuh,
// attention_pair_bias_mma_*.cuh): they compile under nvcc, or as host code in the CPU emulation of
// tests/kernels/cuda_emulation.hpp (which defines __global__, threadIdx, __syncthreads... for the tests).
#pragma once

#if !defined(__CUDACC__) && !defined(KFOLD_CUDA_EMULATION)
#error "kernels/*.cuh is device code: compile it with nvcc, or include tests/kernels/cuda_emulation.hpp first"
#endif

// `#pragma unroll` (and `#pragma unroll N`) for nvcc; nothing in the emulation (host compilers warn on
// the unknown pragma).
#if defined(__CUDACC__)
#define KFOLD_PRAGMA(x) _Pragma(#x)
#define KFOLD_UNROLL _Pragma("unroll")
#define KFOLD_UNROLL_BY(n) KFOLD_PRAGMA(unroll n)
#else
#define KFOLD_UNROLL
#define KFOLD_UNROLL_BY(n)
#endif

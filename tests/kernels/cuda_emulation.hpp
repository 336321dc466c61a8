// Runs CUDA kernel source on the CPU, for tests on machines without a GPU: every CUDA thread of a block is
// a std::thread, __syncthreads and __syncwarp are barriers, __shfl_xor_sync exchanges through a per-warp
// buffer, and the WMMA API (nvcuda::wmma) is emulated with whole 16x16 tiles and fp32 accumulation.
// It checks what the hardware would punish silently or crash on: WMMA pointers must be 32-byte aligned
// and ldm a multiple of 16 bytes, and a warp's store is only visible to its other lanes after a
// __syncwarp (the emulated store is done by lane 0 alone); shared memory starts as NaN bytes and a write
// just past its end is reported. Blocks run one after another.
//
// Include it after any torch header and before the kernel's .cuh; it defines __global__, __device__,
// threadIdx and friends for host code, so it belongs in test translation units only.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#define KFOLD_CUDA_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
// A kernel's static __shared__ arrays become function statics: shared by the block's threads, and
// blocks run one after another.
#define __shared__ static

struct EmulatedDim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local EmulatedDim3 threadIdx, blockIdx, blockDim, gridDim;

namespace kfold::cuda_emulation {

struct BlockState {
  static constexpr size_t kCanary = 128;  // bytes past the dynamic shared memory that must stay untouched
  explicit BlockState(int threads, size_t smem_bytes)
      : bytes(smem_bytes),
        shared(static_cast<unsigned char*>(std::aligned_alloc(128, (smem_bytes + 127) / 128 * 128 + kCanary)),
               &std::free),
        block_barrier(threads) {
    reset();
    for (int w = 0; w < threads / 32; ++w) {
      warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
      shuffle.emplace_back(32, 0.0f);
    }
  }
  // 0xff bytes read as NaN in fp32, bf16 and fp16: a read of shared memory that was never written shows.
  void reset() {
    std::memset(shared.get(), 0xff, bytes);
    std::memset(shared.get() + bytes, kCanaryByte, kCanary);
  }
  bool canary_intact() const {
    for (size_t i = 0; i < kCanary; ++i) {
      if (shared.get()[bytes + i] != kCanaryByte) return false;
    }
    return true;
  }
  static constexpr unsigned char kCanaryByte = 0xa5;
  size_t bytes;
  std::unique_ptr<unsigned char, decltype(&std::free)> shared;
  std::barrier<> block_barrier;
  std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
  std::vector<std::vector<float>> shuffle;  // one value per lane, per warp
};

inline thread_local BlockState* current_block = nullptr;

// The first error an emulated API call found (misaligned WMMA pointer...); launch() throws it.
inline std::mutex error_mutex;
inline std::string first_error;
inline void report(const std::string& what) {
  const std::lock_guard lock(error_mutex);
  if (first_error.empty()) first_error = what;
}

inline int lane() { return static_cast<int>(threadIdx.x % 32); }
inline int warp() { return static_cast<int>(threadIdx.x / 32); }

// Runs `kernel` on `grid` blocks of `threads` threads (a multiple of 32) with `smem_bytes` of dynamic
// shared memory, as kernel<<<grid, threads, smem_bytes>>>() would: one std::thread per CUDA thread, each
// running the blocks one after another, with fresh (NaN) shared memory per block. Throws
// std::runtime_error on an error found by the emulated API.
inline void launch(int64_t grid, int threads, size_t smem_bytes, const std::function<void()>& kernel) {
  if (threads % 32 != 0) throw std::invalid_argument("cuda_emulation: threads per block must be a multiple of 32");
  first_error.clear();
  BlockState state(threads, smem_bytes);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      threadIdx = {static_cast<unsigned>(t), 0, 0};
      blockDim = {static_cast<unsigned>(threads), 1, 1};
      gridDim = {static_cast<unsigned>(grid), 1, 1};
      current_block = &state;
      for (int64_t block = 0; block < grid; ++block) {
        blockIdx = {static_cast<unsigned>(block), 0, 0};
        kernel();
        state.block_barrier.arrive_and_wait();  // the block is done
        if (t == 0) {
          if (!state.canary_intact()) report("a write past the end of the dynamic shared memory");
          state.reset();
        }
        state.block_barrier.arrive_and_wait();  // the next block starts with fresh shared memory
      }
    });
  }
  for (auto& w : workers) w.join();
  if (!first_error.empty()) throw std::runtime_error("cuda_emulation: " + first_error);
}

}  // namespace kfold::cuda_emulation

inline void __syncthreads() { kfold::cuda_emulation::current_block->block_barrier.arrive_and_wait(); }
inline void __syncwarp(unsigned /*mask*/ = 0xffffffffu) {
  using namespace kfold::cuda_emulation;
  current_block->warp_barriers[static_cast<size_t>(warp())]->arrive_and_wait();
}
inline float __shfl_xor_sync(unsigned /*mask*/, float value, int lane_mask) {
  using namespace kfold::cuda_emulation;
  auto& buffer = current_block->shuffle[static_cast<size_t>(warp())];
  buffer[static_cast<size_t>(lane())] = value;
  __syncwarp();
  const float other = buffer[static_cast<size_t>(lane() ^ lane_mask)];
  __syncwarp();
  return other;
}

namespace kfold::cuda_emulation::wmma {

struct row_major {};
struct col_major {};
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
enum layout_t { mem_row_major, mem_col_major };

// A whole tile per lane, as fp32 values in row-major order (rows x cols of the fragment's matrix).
template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
  static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
  float x[rows * cols];
};

template <typename T>
void check_pointer(const T* ptr, unsigned ldm, const char* what) {
  if (reinterpret_cast<std::uintptr_t>(ptr) % 32 != 0) report(std::string(what) + ": pointer not 32-byte aligned");
  if ((ldm * sizeof(T)) % 16 != 0) report(std::string(what) + ": ldm not a multiple of 16 bytes");
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float value) {
  for (auto& e : f.x) e = value;
}

// matrix_a / matrix_b from memory in the fragment's layout.
template <typename Use, int M, int N, int K, typename T, typename Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* ptr, unsigned ldm) {
  static_assert(!std::is_same_v<Use, accumulator>, "accumulators load with a layout_t");
  using F = fragment<Use, M, N, K, T, Layout>;
  check_pointer(ptr, ldm, "load_matrix_sync");
  for (int i = 0; i < F::rows; ++i) {
    for (int j = 0; j < F::cols; ++j) {
      const T v = std::is_same_v<Layout, row_major> ? ptr[i * ldm + j] : ptr[j * ldm + i];
      f.x[i * F::cols + j] = static_cast<float>(v);
    }
  }
}

template <int M, int N, int K, typename A, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, A, LA>& a,
              const fragment<matrix_b, M, N, K, A, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
  float result[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float acc = c.x[i * N + j];
      for (int kk = 0; kk < K; ++kk) acc += a.x[i * K + kk] * b.x[kk * N + j];
      result[i * N + j] = acc;
    }
  }
  for (int e = 0; e < M * N; ++e) d.x[e] = result[e];
}

// Lane 0 writes the tile: the other lanes see it after a __syncwarp, as on the hardware (where each
// lane writes its own part).
template <int M, int N, int K>
void store_matrix_sync(float* ptr, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
  check_pointer(ptr, ldm, "store_matrix_sync");
  if (lane() != 0) return;
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      (layout == mem_row_major ? ptr[i * ldm + j] : ptr[j * ldm + i]) = f.x[i * N + j];
    }
  }
}

}  // namespace kfold::cuda_emulation::wmma

namespace kfold::kernels::tensor_core {
namespace wmma = kfold::cuda_emulation::wmma;
inline unsigned char* dynamic_shared_memory() { return kfold::cuda_emulation::current_block->shared.get(); }
inline void to_mma(float x, c10::BFloat16& out) { out = c10::BFloat16(x); }
inline void to_mma(float x, c10::Half& out) { out = c10::Half(x); }
}  // namespace kfold::kernels::tensor_core

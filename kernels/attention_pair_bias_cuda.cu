// Host side of the CUDA kernels of kfold::attention_pair_bias: argument checks, dtype and head-dim
// dispatch, launches on the current stream (each checked). Two kinds of kernels, device code in headers
// that the tests also run on the CPU through tests/kernels/cuda_emulation.hpp:
// - attention_pair_bias_simt.cuh: CUDA cores; fp32/bf16/fp16, head dims 8 (AlphaFold's extra-MSA row
//   attention), 16, 32 and 64. Other head dims and fp64 use the reference.
// - attention_pair_bias_mma_*.cuh: tensor cores (WMMA); bf16/fp16 at head dims 16/32/64 on sm_80+, with
//   KFOLD_ATTENTION_TENSOR_CORES=1 (opt-in until they have run on a GPU).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <c10/util/Exception.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/attention_pair_bias.hpp"
#include "kernels/attention_pair_bias_mma_backward.cuh"
#include "kernels/attention_pair_bias_mma_forward.cuh"
#include "kernels/attention_pair_bias_params.cuh"
#include "kernels/attention_pair_bias_simt.cuh"

namespace kfold::kernels {

int attention_pair_bias_cuda_linked() { return 1; }

namespace {

namespace simt = cuda_core;
namespace tc = tensor_core;

// T: __nv_bfloat16 and __half (tensor-core kernels) are the layout twins of c10::BFloat16 and c10::Half.
static_assert(sizeof(__nv_bfloat16) == sizeof(c10::BFloat16) && sizeof(__half) == sizeof(c10::Half));

// kernel<<<blocks, threads, shared_bytes>>>(params) on the current stream, checked.
template <typename Kernel, typename Params>
void launch(Kernel kernel, int64_t blocks, int threads, int shared_bytes, const Params& params) {
  TORCH_CHECK(blocks <= std::numeric_limits<int32_t>::max(), "attention_pair_bias: too many blocks (", blocks, ")");
  if (shared_bytes > 48 * 1024) {  // dynamic shared memory above the default limit must be asked for
    C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes));
  }
  kernel<<<static_cast<unsigned>(blocks), threads, shared_bytes, c10::cuda::getCurrentCUDAStream()>>>(params);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// fn(std::integral_constant<int, D>) for the head dims with kernels (8, 16, 32, 64).
template <typename Fn>
void with_head_dim(int64_t D, Fn&& fn) {
  switch (D) {
    case 8:
      return fn(std::integral_constant<int, 8>{});
    case 16:
      return fn(std::integral_constant<int, 16>{});
    case 32:
      return fn(std::integral_constant<int, 32>{});
    case 64:
      return fn(std::integral_constant<int, 64>{});
    default:
      TORCH_CHECK(false, "attention_pair_bias: no CUDA kernel for head dim ", D);
  }
}

// True when this build has code that runs on `device` (a GPU older than the built architectures, or
// without PTX that its driver could compile, has none: the launches would fail).
bool built_for_device(int device) {
  static std::array<std::atomic<int>, 64> known{};  // per device: 0 not yet asked, 1 yes, 2 no
  std::atomic<int>* slot = device >= 0 && device < 64 ? &known[static_cast<size_t>(device)] : nullptr;
  if (slot != nullptr && slot->load() != 0) return slot->load() == 1;
  const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
  cudaFuncAttributes attributes{};
  const bool built =
      cudaFuncGetAttributes(
          &attributes,
          cuda_core::attention_pair_bias_forward_kernel<float, 32, cuda_core::SimtTiles<32>::forward_keys>) ==
      cudaSuccess;
  if (!built) (void)cudaGetLastError();  // not a sticky error: clear it, so that later checks do not report it
  if (slot != nullptr) slot->store(built ? 1 : 2);
  return built;
}

bool has_fused_kernels(const at::Tensor& q) {
  const int64_t D = q.size(4);
  const auto t = q.scalar_type();
  return (D == 8 || D == 16 || D == 32 || D == 64) && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf) &&
         built_for_device(q.get_device());
}

// The tensor-core kernels are opt-in until a GPU run of scripts/gpu_check has passed their tests
// (tests/kernels/gpu); then this becomes true. KFOLD_ATTENTION_TENSOR_CORES=1 / =0 overrides it either way.
constexpr bool kTensorCoresByDefault = false;

// KFOLD_ATTENTION_TENSOR_CORES: unset or empty: the default; 1/true/on/yes or 0/false/off/no (any case);
// anything else is refused (a typo must not silently pick the other kernels).
bool tensor_cores_wanted(const char* env) {
  if (env == nullptr || *env == '\0') return kTensorCoresByDefault;
  std::string value(env);
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (value == "1" || value == "true" || value == "on" || value == "yes") return true;
  TORCH_CHECK(value == "0" || value == "false" || value == "off" || value == "no", "KFOLD_ATTENTION_TENSOR_CORES=", env,
              " is not understood: set it to 1 (tensor-core kernels), 0 (CUDA-core kernels) or leave it unset");
  return false;
}

// The tensor-core kernels: bf16/fp16 at head dims 16/32/64 on sm_80 or newer, when wanted (the
// environment is read at every call, so tests and benchmarks can compare both kinds).
bool use_tensor_cores(const at::Tensor& q) {
  if (!tensor_cores_wanted(std::getenv("KFOLD_ATTENTION_TENSOR_CORES"))) return false;
  const int64_t D = q.size(4);
  const auto t = q.scalar_type();
  if (!((t == at::kBFloat16 || t == at::kHalf) && (D == 16 || D == 32 || D == 64))) return false;
  int major = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, q.get_device()));
  return major >= 8;
}

// True when a tensor-core kernel's `bytes` of dynamic shared memory fit q's GPU (the backward's dk/dv
// kernel takes 106 KB at head dim 64: more than the 99 KB of sm_86/sm_89/sm_120, where the CUDA-core
// kernels run instead).
bool shared_memory_fits(const at::Tensor& q, int64_t bytes) {
  int limit = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, q.get_device()));
  return bytes <= limit;
}

// True when the forward (or the backward) of q runs on the tensor cores: wanted, eligible (use_tensor_cores)
// and its shared memory fits (the backward's: the largest of its three kernels').
template <typename Mma>
bool on_tensor_cores(const at::Tensor& q, bool backward) {
  if (!use_tensor_cores(q)) return false;
  bool fits = false;
  with_head_dim(q.size(4), [&](auto d) {
    constexpr int D = decltype(d)::value;
    if constexpr (D >= 16) {
      fits = shared_memory_fits(
          q, backward ? std::max({tc::DqSharedLayout<Mma, D>::bytes, tc::DkvSharedLayout<Mma, D>::bytes,
                                  tc::DbiasSharedLayout<Mma, D>::bytes})
                      : tc::ForwardSharedLayout<Mma, D>::bytes);
    }
  });
  return fits;
}

// The forward of `q`'s dtype: T, the CUDA-core element type (float, c10::BFloat16, c10::Half), and
// Mma, the tensor-core one (void for fp32).
template <typename T, typename Mma>
void forward_kernels(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias_f32,
                     const at::Tensor& mask_bias, at::Tensor& out, at::Tensor& lse) {
  if constexpr (!std::is_void_v<Mma>) {
    if (on_tensor_cores<Mma>(q, /*backward=*/false)) {
      with_head_dim(q.size(4), [&](auto d) {
        constexpr int D = decltype(d)::value;
        if constexpr (D >= 16) {
          const auto p = forward_params<Mma>(q, k, v, bias_f32, mask_bias, out, lse);
          launch(tc::attention_pair_bias_forward_mma_kernel<Mma, D>, tc::row_blocks(p), tc::kThreads,
                 tc::ForwardSharedLayout<Mma, D>::bytes, p);
        }
      });
      return;
    }
  }
  const auto p = forward_params<T>(q, k, v, bias_f32, mask_bias, out, lse);
  with_head_dim(q.size(4), [&](auto d) {
    constexpr int D = decltype(d)::value;
    launch(simt::attention_pair_bias_forward_kernel<T, D, simt::SimtTiles<D>::forward_keys>, simt::row_blocks(p),
           simt::kThreads, 0, p);
  });
}

// The backward's three kernels in stream order: the dq kernel writes the row statistics the others read.
template <typename T, typename Mma>
void backward_kernels(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const at::Tensor& bias_f32, const at::Tensor& mask_bias, const at::Tensor& delta,
                      at::Tensor& row_max, at::Tensor& row_sum, at::Tensor& grad_q, at::Tensor& grad_k,
                      at::Tensor& grad_v, at::Tensor& grad_bias) {
  if constexpr (!std::is_void_v<Mma>) {
    if (on_tensor_cores<Mma>(q, /*backward=*/true)) {
      with_head_dim(q.size(4), [&](auto d) {
        constexpr int D = decltype(d)::value;
        if constexpr (D >= 16) {
          const auto p = backward_params<Mma>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q,
                                              grad_k, grad_v, grad_bias);
          launch(tc::attention_pair_bias_backward_dq_mma_kernel<Mma, D>, tc::row_blocks(p), tc::kThreads,
                 tc::DqSharedLayout<Mma, D>::bytes, p);
          launch(tc::attention_pair_bias_backward_dkv_mma_kernel<Mma, D>, tc::row_blocks(p), tc::kThreads,
                 tc::DkvSharedLayout<Mma, D>::bytes, p);
          launch(tc::attention_pair_bias_backward_dbias_mma_kernel<Mma, D>, tc::bias_blocks(p), tc::kThreads,
                 tc::DbiasSharedLayout<Mma, D>::bytes, p);
        }
      });
      return;
    }
  }
  const auto p = backward_params<T>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k,
                                    grad_v, grad_bias);
  with_head_dim(q.size(4), [&](auto d) {
    constexpr int D = decltype(d)::value;
    using Tiles = simt::SimtTiles<D>;
    launch(simt::attention_pair_bias_backward_dq_kernel<T, D, Tiles::backward_keys>, simt::row_blocks(p),
           simt::kThreads, 0, p);
    launch(simt::attention_pair_bias_backward_dkv_kernel<T, D, Tiles::backward_queries>, simt::row_blocks(p),
           simt::kThreads, 0, p);
    launch(simt::attention_pair_bias_backward_dbias_kernel<T, D>, simt::bias_blocks(p),
           simt::kBiasTile * simt::kBiasTile, 0, p);
  });
}

// Calls fn.template operator()<T, Mma>() for q's dtype.
template <typename Fn>
void with_dtype(at::ScalarType dtype, Fn&& fn) {
  switch (dtype) {
    case at::kFloat:
      return fn.template operator()<float, void>();
    case at::kBFloat16:
      return fn.template operator()<c10::BFloat16, __nv_bfloat16>();
    case at::kHalf:
      return fn.template operator()<c10::Half, __half>();
    default:
      TORCH_CHECK(false, "attention_pair_bias: unsupported dtype ", dtype);
  }
}

}  // namespace

AttentionCudaKernels attention_pair_bias_cuda_kernels(const at::Tensor& q) {
  TORCH_CHECK(q.is_cuda() && q.dim() == 5, "attention_pair_bias_cuda_kernels: q must be a CUDA tensor [B, R, S, H, D]");
  if (!has_fused_kernels(q)) return {"reference", "reference"};
  const c10::cuda::CUDAGuard guard(q.device());
  AttentionCudaKernels kinds{"cuda cores", "cuda cores"};
  with_dtype(q.scalar_type(), [&]<typename T, typename Mma>() {
    if constexpr (!std::is_void_v<Mma>) {
      if (on_tensor_cores<Mma>(q, false)) kinds.forward = "tensor cores";
      if (on_tensor_cores<Mma>(q, true)) kinds.backward = "tensor cores";
    }
  });
  return kinds;
}

namespace {

std::tuple<at::Tensor, at::Tensor> attention_pair_bias_cuda(const at::Tensor& q, const at::Tensor& k,
                                                            const at::Tensor& v, const at::Tensor& bias,
                                                            const std::optional<at::Tensor>& mask) {
  check_attention_pair_bias_args(q, k, v, bias, mask);
  if (!has_fused_kernels(q)) return attention_pair_bias_reference(q, k, v, bias, mask);
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  auto out = at::empty({B, R, S, H, D}, q.options());                 // [B, R, S, H, D]
  auto lse = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));  // [B, R, H, S]
  if (out.numel() == 0) return {out, lse};
  const auto bias_f32 = bias.to(at::kFloat).contiguous();  // [B, H, S, S]
  at::Tensor mask_bias;                                    // [B, R, S]
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, at::kFloat).contiguous();
  with_dtype(q.scalar_type(),
             [&]<typename T, typename Mma>() { forward_kernels<T, Mma>(q, k, v, bias_f32, mask_bias, out, lse); });
  return {out, lse};
}

// With x_ij = (scale q_i . k_j + mask_j) + bias_ij (the CUDA-core kernels scale q, the tensor-core ones the
// product), p_ij its softmax and delta_i = dO_i . O_i - dlse_i:
// ds_ij = p_ij (dO_i . v_j - delta_i), then dq, dk, dv and dbias (summed over r) from ds and p (see the
// kernels' headers).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_pair_bias_backward_cuda(
    const at::Tensor& grad_out, const std::optional<at::Tensor>& grad_lse, const at::Tensor& q, const at::Tensor& k,
    const at::Tensor& v, const at::Tensor& bias, const std::optional<at::Tensor>& mask, const at::Tensor& out,
    const at::Tensor& lse) {
  check_attention_pair_bias_backward_args(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  const c10::cuda::CUDAGuard guard(q.device());
  if (!has_fused_kernels(q)) {
    return attention_pair_bias_backward_reference(grad_out, grad_lse, q, k, v, bias, mask, out, lse);
  }
  const int64_t B = q.size(0), R = q.size(1), S = q.size(2), H = q.size(3), D = q.size(4);
  auto grad_q = at::empty({B, R, S, H, D}, q.options());  // [B, R, S, H, D]
  auto grad_k = at::empty({B, R, S, H, D}, k.options());
  auto grad_v = at::empty({B, R, S, H, D}, v.options());
  auto grad_bias = at::zeros({B, H, S, S}, bias.options().dtype(at::kFloat));  // [B, H, S, S]
  if (grad_q.numel() == 0) return {grad_q, grad_k, grad_v, grad_bias.to(bias.scalar_type())};
  const auto delta = attention_backward_delta(grad_out, out, grad_lse);  // [B, R, H, S] fp32
  auto row_max = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));
  auto row_sum = at::empty({B, R, H, S}, q.options().dtype(at::kFloat));
  const auto bias_f32 = bias.to(at::kFloat).contiguous();  // [B, H, S, S]
  at::Tensor mask_bias;                                    // [B, R, S]
  if (mask.has_value() && mask->defined()) mask_bias = attention_mask_bias(*mask, at::kFloat).contiguous();
  with_dtype(q.scalar_type(), [&]<typename T, typename Mma>() {
    backward_kernels<T, Mma>(grad_out, q, k, v, bias_f32, mask_bias, delta, row_max, row_sum, grad_q, grad_k, grad_v,
                             grad_bias);
  });
  return {grad_q, grad_k, grad_v, grad_bias.to(bias.scalar_type())};
}

}  // namespace
}  // namespace kfold::kernels

TORCH_LIBRARY_IMPL(kfold, CUDA, m) {
  m.impl("attention_pair_bias", &kfold::kernels::attention_pair_bias_cuda);
  m.impl("attention_pair_bias_backward", &kfold::kernels::attention_pair_bias_backward_cuda);
}

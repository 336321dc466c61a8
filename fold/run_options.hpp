// Runtime choices for running the model (device, dtype, chunking, attention kernel): one object
// passed to forward(), never flags threaded through every call.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>

namespace kfold::fold {

// Which implementation computes attention with a pair bias (fold/attention.hpp).
enum class AttentionKernel {
  reference,  // plain libtorch: materialises the [.., n_head, S, S] logits
  fused,      // kfold::attention_pair_bias from kernels/: never materialises the logits (self-attention
              // with equal key/value head sizes; other shapes use the reference)
};

struct RunOptions {
  c10::Device device = c10::Device(c10::kCPU);
  // The trunk's activations (Evoformer, extra-MSA stack, templates): float32 (the parity dtype) or
  // bfloat16 (mixed precision: weights stay float32 and are cast per use, LayerNorm statistics and
  // softmax accumulate in float32, the structure module and the heads always run in float32).
  c10::ScalarType dtype = c10::kFloat;
  // Rows of the batch-like axis (MSA rows, pair rows) processed at a time by the attention modules,
  // transitions, outer product mean and triangle multiplications (these also split their channels);
  // 0 processes everything at once; kAutoChunk lets the memory guard choose (resolve_chunk_size in
  // fold/memory_estimate.hpp). Results agree to float rounding (matrix products of other shapes).
  static constexpr int64_t kAutoChunk = -1;
  int64_t chunk_size = 0;
  AttentionKernel attention_kernel = AttentionKernel::fused;
};

}  // namespace kfold::fold

// Peak-memory estimate of one model iteration from the problem size, chunking and attention kernel,
// and the memory a device has free: the guard that refuses a run (with a suggested --chunk-size)
// before the operating system or the CUDA allocator kills it.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "fold/config.hpp"
#include "fold/run_options.hpp"

namespace kfold::fold {

struct ProblemSize {
  int64_t n_res = 0;
  int64_t n_seq = 0;    // MSA cluster rows (msa_feat)
  int64_t n_extra = 0;  // extra-MSA rows
  int64_t n_templ = 0;  // templates embedded (0 when the template embedding is off)
  // Processed input features resident on the device during an iteration (input_pipeline.hpp's
  // processed_feature_bytes: one iteration's batches when InputBatches makes them per recycle; all
  // of them for processed features read from a file on the CPU).
  int64_t feature_bytes = 0;
  // Weights this process has already allocated on the device (ParameterStore::allocated_bytes: a network
  // built before the check). The estimate counts them, and the device's free memory no longer holds them.
  int64_t allocated_weight_bytes = 0;
};

struct MemoryEstimate {
  int64_t total_bytes = 0;   // weights + resident activations + the largest transient
  int64_t weight_bytes = 0;  // parameters (stored in float32)
  int64_t largest_transient_bytes = 0;
  std::string largest_transient;  // the module that needs it, e.g. "triangle attention"
};

// An upper-bound style estimate (it counts the tensors alive at each stage's peak, plus 20% for the
// allocator); it is deliberately simple and documented in the README, not a profile.
MemoryEstimate estimate_peak_memory(const ModelConfig& config, const ProblemSize& size, const RunOptions& options);

// Bytes the run may use on `device`: on the CPU the smallest of MemAvailable (/proc/meminfo), the cgroup
// limit less usage and the address-space limit (RLIMIT_AS) less what is mapped; on CUDA the free memory the
// driver reports. -1 when unknown. `bound`, when given, says which of them it is (for messages).
int64_t available_memory_bytes(const c10::Device& device, std::string* bound = nullptr);

// The largest chunk size (a power of two from 1024 down to 1) with which the estimate fits in
// `available_bytes`; 0 when even chunk size 1 does not fit.
int64_t suggest_chunk_size(const ModelConfig& config, const ProblemSize& size, const RunOptions& options,
                           int64_t available_bytes);

// options with chunk_size RunOptions::kAutoChunk resolved for this problem on options.device: 0 when
// the unchunked estimate fits the available memory (or that is unknown; under an address-space limit with
// a retaining malloc, with its retention), else the suggested chunk size (1 when none fits, so that
// check_memory then says so). Other chunk sizes come back unchanged.
RunOptions resolve_chunk_size(const ModelConfig& config, const ProblemSize& size, RunOptions options);

// What the guard makes of an estimate of `need` bytes where `available` are free. A malloc that keeps
// freed memory for reuse (tcmalloc, in the kfold executable) fragments: up to kRetainingMallocFactor times
// the estimate resident (measured: one Evoformer block at L = 384, peak 1.42x glibc's above the
// baseline). When only that overhead does not fit, the run goes on with the malloc told to release, except
// under an address-space limit (`address_space_left`: what ulimit -v leaves, -1 without one), which counts the
// memory still mapped: there the overhead must fit, whichever limit is tightest.
inline constexpr double kRetainingMallocFactor = 1.45;
enum class MemoryVerdict { fits, fits_releasing_freed_memory, too_big };
MemoryVerdict memory_verdict(int64_t need, int64_t available, bool retaining_malloc, int64_t address_space_left = -1);

// Throws RuntimeError when the estimate exceeds the available memory: the message gives both numbers
// in GiB and the --chunk-size that fits (or says that none does and what to reduce). On the CPU under
// tcmalloc, when the estimate fits but not with its retention, switches tcmalloc to releasing freed
// memory at once (slower) and says so in the log.
void check_memory(const ModelConfig& config, const ProblemSize& size, const RunOptions& options);

}  // namespace kfold::fold

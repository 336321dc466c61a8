// Peak-memory estimate and the memory guard (fold/memory_estimate.hpp).
#include "fold/memory_estimate.hpp"

#include <c10/core/ScalarType.h>

#include <algorithm>
#include <atomic>

#include "data/error.hpp"
#include "data/host_memory.hpp"
#include "data/log.hpp"
#include "kernels/cuda_memory.hpp"
#include "kernels/malloc_control.hpp"

namespace kfold::fold {

namespace {

// Parameters of the model at `config` (the big terms: Evoformer and extra-MSA blocks, structure module).
int64_t parameter_count(const ModelConfig& config) {
  const auto& e = config.model.embeddings_and_evoformer;
  const auto& sm = config.model.heads.structure_module;
  const int64_t c_m = e.msa_channel, c_z = e.pair_channel, c_e = e.extra_msa_channel;
  const auto block = [&](int64_t c_msa) {
    const int64_t tri = e.evoformer.triangle_multiplication_outgoing.num_intermediate_channel;
    const int64_t opm = e.evoformer.outer_product_mean.num_outer_channel;
    return 2 * 5 * c_msa * c_msa + 8 * c_msa * c_msa  // row and column attention (q, k, v, gate, out), transition
           + 2 * c_msa * opm + opm * opm * c_z        // outer product mean
           + 2 * (5 * c_z * tri + tri * c_z)          // triangle multiplications
           + 2 * 5 * c_z * c_z + 8 * c_z * c_z;       // triangle attention, pair transition
  };
  const int64_t c = sm.num_channel;
  return e.evoformer_num_block * block(c_m) + e.extra_msa_stack_num_block * block(c_e) + 12 * c * c +
         e.seq_channel * c + 2 * c_m * e.seq_channel + (2 * e.max_relative_feature + 1) * c_z;  // + relpos
}

// An attention module over `rows` rows of S queries and keys, c channels, `heads` heads: its normalised
// input, then (fold/attention.hpp) q, k, v, the gate, the attended and gated values and the output
// projection, about 8 tensors of [rows, S, c], plus the reference kernel's logits, their bias sum and softmax (3:
// measured at L = 256, MSA row attention, 2 fell 7 % short).
// Chunked, one chunk of rows at a time beside the whole output. bench_evoformer --profile measures
// 7.7 (unchunked) and 3.1 (L = 384, chunk 64) [L, L, c_z] tensors for triangle attention; this gives 9
// and 3.3.
int64_t attention_elements(int64_t rows, int64_t S, int64_t c, int64_t heads, int64_t chunk_size, bool fused) {
  const int64_t r = chunk_size > 0 ? std::min(chunk_size, rows) : rows;
  return rows * S * c + (r < rows ? rows * S * c : 0) + r * S * c * 8 + (fused ? 0 : heads * r * S * S * 3);
}

// The template embedding (before the trunk): every template's pair activations [n_templ, L, L, c_t]
// kept for the pointwise attention (twice while they are stacked), plus one template's pair stack
// transients (triangle multiplication projections, or the triangle attention).
int64_t template_stage_elements(const ModelConfig& config, const ProblemSize& s, int64_t chunk_size, bool fused) {
  const auto& t = config.model.embeddings_and_evoformer.template_;
  if (!t.enabled || s.n_templ <= 0) return 0;
  const auto& stack = t.template_pair_stack;
  const int64_t L2 = s.n_res * s.n_res;
  const int64_t c_t = stack.triangle_attention_ending_node.value_dim.value_or(64);
  const int64_t tri = stack.triangle_multiplication_outgoing.num_intermediate_channel;
  const int64_t attention =
      attention_elements(s.n_res, s.n_res, c_t, stack.triangle_attention_starting_node.num_head, chunk_size, fused);
  return 2 * s.n_templ * L2 * c_t + std::max(L2 * (4 * tri + 2 * c_t), attention);
}

// Peak bytes for a given chunk size.
MemoryEstimate estimate(const ModelConfig& config, const ProblemSize& s, const RunOptions& options) {
  const auto& e = config.model.embeddings_and_evoformer;
  const auto& evo = e.evoformer;
  const int64_t bytes = c10::elementSize(options.dtype);
  const int64_t L = s.n_res, L2 = L * L;
  const int64_t chunk_rows = options.chunk_size > 0 ? std::min(options.chunk_size, L) : L;
  const bool fused = options.attention_kernel == AttentionKernel::fused;

  MemoryEstimate out;
  out.weight_bytes = parameter_count(config) * 4;  // stored in float32 whatever the trunk's dtype
  // Resident: the pair (activations, residual, recycled copy, a normalised copy), the MSA and extra
  // MSA (activations, residual, normalised copy); and the input features (s.feature_bytes).
  const int64_t resident =
      (4 * L2 * e.pair_channel + 3 * s.n_seq * L * e.msa_channel + 3 * s.n_extra * L * e.extra_msa_channel) * bytes;
  // Transients of each stage (the chunked axis scales with chunk_rows / rows).
  const int64_t tri = evo.triangle_multiplication_outgoing.num_intermediate_channel;
  const int64_t opm = evo.outer_product_mean.num_outer_channel;
  const int64_t heads_tri = evo.triangle_attention_starting_node.num_head;
  const int64_t heads_row = evo.msa_row_attention_with_pair_bias.num_head;
  const int64_t heads_column = evo.msa_column_attention.num_head;
  const int64_t chunk = options.chunk_size;
  // Triangle multiplication (fold/triangle_multiplication.hpp): unchunked, the gated projections of all
  // channels and their products (measured: 8.6 [L, L, c_z] tensors at c = c_z; this gives 9);
  // chunked, the products, the input and output, a quarter of the channels' projections and one row
  // chunk's output transients (measured 3.7 at L = 384, chunk 64; this gives 4.5).
  const int64_t tri_group = std::max<int64_t>(1, tri / 4);
  const int64_t tri_mult =
      chunk > 0 ? L2 * (tri + 2 * e.pair_channel + 4 * tri_group) + chunk_rows * L * (tri + 2 * e.pair_channel)
                : L2 * (6 * tri + 3 * e.pair_channel);
  // The heads at the end of an iteration, in float32 whatever the trunk's dtype: the distogram logits
  // [L, L, bins] (and, while made symmetric, two more: 3 of the distogram's bins); later, beside the distogram's
  // logits kept for the output, the aligned-error head's logits, their softmax (kept for the output), then pTM's
  // softmax and product (4 of its bins): with 64 bins each, 5 [L, L, 64] tensors at the peak (measured at
  // L = 1000 with the small config: the heads add 0.7 GB to the trunk's 1.1 GB, 5.4).
  const auto& heads = config.model.heads;
  const bool aligned_error = heads.predicted_aligned_error.weight != 0;
  const int64_t distogram_bins = heads.distogram.num_bins;
  const int64_t heads_elements =
      L2 *
      std::max(3 * distogram_bins, distogram_bins + (aligned_error ? 4 * heads.predicted_aligned_error.num_bins : 0)) *
      4 / bytes;
  const std::pair<const char*, int64_t> stages[] = {
      {"triangle multiplication projections", tri_mult},
      // The pair bias: the normalised pair and its projection to the heads.
      {"triangle attention", attention_elements(L, L, e.pair_channel, heads_tri, chunk, fused) + L2 * heads_tri},
      {"MSA row attention",
       attention_elements(s.n_seq, L, e.msa_channel, heads_row, chunk, fused) + L2 * (e.pair_channel + heads_row)},
      {"extra-MSA row attention", attention_elements(s.n_extra, L, e.extra_msa_channel, heads_row, chunk, fused) +
                                      L2 * (e.pair_channel + heads_row)},
      {"MSA column attention", attention_elements(L, s.n_seq, e.msa_channel, heads_column, chunk, fused)},
      // Global attention over the extra MSA's columns (fold/attention.hpp GlobalAttention): its normalised,
      // transposed input and output whole, the gate, gated values and projection of a chunk of columns.
      {"extra-MSA column global attention",
       s.n_extra * L * e.extra_msa_channel * 2 + chunk_rows * s.n_extra * e.extra_msa_channel * 3},
      // The outer products of a chunk of rows (and their projection) beside the whole output.
      {"outer product mean", chunk_rows * L * opm * opm * 2 + L2 * e.pair_channel},
      {"pair transition", chunk_rows * L * 4 * e.pair_channel * 2 + L2 * e.pair_channel},
      {"MSA transition",
       std::min(chunk_rows, std::max(s.n_seq, s.n_extra)) * L * 4 * std::max(e.msa_channel, e.extra_msa_channel) * 2},
      {aligned_error ? "distogram and aligned-error heads" : "distogram head", heads_elements},
      {"template pair stack", template_stage_elements(config, s, chunk, fused)},
  };
  for (const auto& [name, elements] : stages)
    if (elements * bytes > out.largest_transient_bytes) {
      out.largest_transient_bytes = elements * bytes;
      out.largest_transient = name;
    }
  const double total =
      static_cast<double>(out.weight_bytes + resident + s.feature_bytes + out.largest_transient_bytes) * 1.2;
  out.total_bytes = static_cast<int64_t>(total) + (int64_t{256} << 20);  // + runtime baseline
  return out;
}

// The memory the run may use: what the device has free plus the weights this process already holds there
// (the estimate counts those); bytes -1 when unknown.
struct Available {
  int64_t bytes = -1;
  std::string bound;                // which limit, for messages
  bool retaining = false;           // the host's malloc keeps freed memory (tcmalloc): kRetainingMallocFactor
  int64_t address_space_left = -1;  // under ulimit -v (which the release of freed memory does not lower)
  // The largest estimate that fits: `bytes`, and under an address-space limit with a retaining malloc its margin.
  int64_t budget() const {
    if (!retaining || address_space_left < 0) return bytes;
    return std::min(bytes, static_cast<int64_t>(static_cast<double>(address_space_left) / kRetainingMallocFactor));
  }
};

Available available_for(const ProblemSize& size, const c10::Device& device) {
  Available out;
  if (device.is_cpu()) {
    const data::HostMemory memory = data::host_available_memory();
    out.bytes = memory.bytes;
    out.bound = memory.bound;
    out.retaining = kernels::malloc_retains_freed_memory();
    out.address_space_left = memory.address_space_left;
  } else {
    out.bytes = available_memory_bytes(device, &out.bound);
  }
  if (out.bytes >= 0) out.bytes += size.allocated_weight_bytes;
  if (out.address_space_left >= 0) out.address_space_left += size.allocated_weight_bytes;
  return out;
}

}  // namespace

MemoryEstimate estimate_peak_memory(const ModelConfig& config, const ProblemSize& size, const RunOptions& options) {
  return estimate(config, size, options);
}

int64_t available_memory_bytes(const c10::Device& device, std::string* bound) {
  if (device.is_cpu()) {
    const data::HostMemory memory = data::host_available_memory();
    if (bound != nullptr) *bound = memory.bound;
    return memory.bytes;
  }
  if (bound != nullptr) *bound = "the GPU's free memory";
  if (device.is_cuda()) return kernels::cuda_free_memory_bytes(device.index() < 0 ? 0 : device.index());
  return -1;
}

int64_t suggest_chunk_size(const ModelConfig& config, const ProblemSize& size, const RunOptions& options,
                           int64_t available_bytes) {
  auto chunked = options;
  for (int64_t chunk = 1024; chunk >= 1; chunk /= 2) {
    chunked.chunk_size = chunk;
    if (estimate(config, size, chunked).total_bytes <= available_bytes) return chunk;
  }
  return 0;
}

RunOptions resolve_chunk_size(const ModelConfig& config, const ProblemSize& size, RunOptions options) {
  if (options.chunk_size != RunOptions::kAutoChunk) return options;
  options.chunk_size = 0;
  const Available available = available_for(size, options.device);
  if (available.bytes < 0 || estimate(config, size, options).total_bytes <= available.budget()) return options;
  options.chunk_size = std::max<int64_t>(1, suggest_chunk_size(config, size, options, available.budget()));
  return options;
}

MemoryVerdict memory_verdict(int64_t need, int64_t available, bool retaining_malloc, int64_t address_space_left) {
  const auto with_margin = static_cast<double>(need) * kRetainingMallocFactor;
  if (need > available ||
      (retaining_malloc && address_space_left >= 0 && with_margin > static_cast<double>(address_space_left)))
    return MemoryVerdict::too_big;
  return !retaining_malloc || with_margin <= static_cast<double>(available)
             ? MemoryVerdict::fits
             : MemoryVerdict::fits_releasing_freed_memory;
}

void check_memory(const ModelConfig& config, const ProblemSize& size, const RunOptions& options) {
  const Available available = available_for(size, options.device);
  if (available.bytes < 0) return;  // unknown: nothing to compare with
  const auto need = estimate(config, size, options);
  const auto verdict =
      memory_verdict(need.total_bytes, available.bytes, available.retaining, available.address_space_left);
  if (verdict == MemoryVerdict::fits) return;
  if (verdict == MemoryVerdict::fits_releasing_freed_memory) {
    static std::atomic<bool> said{false};  // once a process: the model's preparation checks too
    if (kernels::malloc_release_freed_memory() && !said.exchange(true))
      log_warn(
          "memory: about {} needed, {} available: tcmalloc now returns freed memory to the system at once "
          "(less resident memory, slower; as TCMALLOC_AGGRESSIVE_DECOMMIT=true)",
          data::gib_text(need.total_bytes), data::gib_text(available.bytes));
    return;
  }
  const int64_t chunk = suggest_chunk_size(config, size, options, available.budget());
  const std::string fix =
      need.weight_bytes > available.budget()
          ? fmt::format(
                "even the weights ({}) do not fit: free memory (other processes, the job's memory limit) "
                "or use a machine with more, or check the channel and layer sizes of --config",
                data::gib_text(need.weight_bytes))
      : chunk > 0 ? fmt::format("rerun with --chunk-size {} (Python: chunk_size={})", chunk, chunk)
                  : std::string(
                        "no chunk size fits: use a device with more memory, a shorter sequence, or fewer "
                        "MSA rows (max_msa_clusters, max_extra_msa in --config)");
  const int64_t resident = options.device.is_cpu() ? data::process_resident_bytes() : -1;
  throw MemoryError(fmt::format(
      "memory: n_res {} with {} MSA and {} extra rows needs about {} on {}{} (weights {}, largest: {} {}), {} is "
      "available ({}{}); {}",
      size.n_res, size.n_seq, size.n_extra, data::gib_text(need.total_bytes), options.device.str(),
      resident > 0 ? fmt::format(" beside the {} this process holds", data::gib_text(resident)) : "",
      data::gib_text(need.weight_bytes), need.largest_transient, data::gib_text(need.largest_transient_bytes),
      data::gib_text(available.bytes), available.bound,
      need.total_bytes > available.bytes ? std::string()
      : available.address_space_left == available.bytes
          ? fmt::format(", which counts the freed memory tcmalloc keeps mapped: up to {} x the estimate",
                        kRetainingMallocFactor)
          : fmt::format("; the address-space limit (ulimit -v) leaves {}, which counts the freed memory tcmalloc "
                        "keeps mapped: up to {} x the estimate",
                        data::gib_text(available.address_space_left), kRetainingMallocFactor),
      fix));
}

}  // namespace kfold::fold

// The memory guard's estimate (fold/memory_estimate.hpp): it grows with the problem as the modules'
// tensors do, the fused attention and chunking lower it, the suggested chunk size fits the given
// memory, and the available-memory probe reads this machine.
#include <doctest/doctest.h>

#include <algorithm>

#include "data/error.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/memory_estimate.hpp"
#include "kernels/malloc_control.hpp"
#include "test_support.hpp"

namespace fold = kfold::fold;

TEST_CASE("Memory estimate scales with the problem and falls with chunking and the fused kernel") {
  const auto config = fold::model_config("model_1_ptm");
  fold::RunOptions reference;
  reference.attention_kernel = fold::AttentionKernel::reference;
  const auto small = fold::estimate_peak_memory(config, {256, 512, 1024}, reference);
  const auto large = fold::estimate_peak_memory(config, {1024, 512, 1024}, reference);
  // Unchunked, the reference extra-MSA row attention holds n_head * n_extra * L^2 logits (three times: logits,
  // with the bias, softmax), 9 [n_extra, L, c_e] tensors (normalised input, projections, gate, output) and the
  // pair bias (the normalised pair and its heads): (8 * 1024^3 * 3 + 1024^2 * 64 * 9 + 1024^2 * (128 + 8)) * 4.
  CHECK(large.largest_transient == "extra-MSA row attention");
  CHECK(large.largest_transient_bytes ==
        (int64_t{8} * 1024 * 1024 * 1024 * 3 + int64_t{1024} * 1024 * 64 * 9 + int64_t{1024} * 1024 * 136) * 4);
  CHECK(large.total_bytes > 8 * small.total_bytes);
  CHECK(small.weight_bytes == large.weight_bytes);
  CHECK(small.weight_bytes > int64_t{300} << 20);  // ~93 M float32 parameters
  CHECK(small.weight_bytes < int64_t{450} << 20);

  fold::RunOptions fused;  // default: fused attention, no chunking (the outer product mean dominates then)
  const auto fused_estimate = fold::estimate_peak_memory(config, {1024, 512, 1024}, fused);
  CHECK(fused_estimate.largest_transient == "outer product mean");
  CHECK(fused_estimate.total_bytes < large.total_bytes / 2);
  auto chunked = reference;
  chunked.chunk_size = 64;
  CHECK(fold::estimate_peak_memory(config, {1024, 512, 1024}, chunked).total_bytes < large.total_bytes / 4);
  // AlphaFold's 5120 extra rows at L = 256, chunk 16: the extra MSA's global column attention (its normalised input
  // and output whole, 3 tensors of a chunk's columns) is the largest, (5120 * 256 * 64 * 2 + 16 * 5120 * 64 * 3) * 4
  // bytes; it was not counted, and its module ignored --chunk-size.
  fused.chunk_size = 16;
  const auto deep = fold::estimate_peak_memory(config, {256, 512, 5120}, fused);
  CHECK(deep.largest_transient == "extra-MSA column global attention");
  CHECK(deep.largest_transient_bytes == (int64_t{5120} * 256 * 64 * 2 + int64_t{16} * 5120 * 64 * 3) * 4);
}

TEST_CASE("Memory estimate counts the relative-position weights, (2 max_relative_feature + 1) x pair_channel") {
  // max_relative_feature is accepted up to 2^24: its weights were not counted (0.27 GB at 2^20 and c_z 128).
  auto config = fold::model_config("model_3");
  const auto base = fold::estimate_peak_memory(config, {64, 32, 32}, {});
  config.model.embeddings_and_evoformer.max_relative_feature = int64_t{1} << 20;
  const auto wide = fold::estimate_peak_memory(config, {64, 32, 32}, {});
  CHECK(wide.weight_bytes - base.weight_bytes == ((int64_t{2} << 20) - 64) * 128 * 4);
  CHECK(wide.largest_transient_bytes == base.largest_transient_bytes);  // no [L, L, 2r+1] one-hot any more
}

TEST_CASE("Memory estimate counts the template embedding when it is on") {
  auto config = fold::model_config("model_1");  // templates on
  fold::RunOptions options;
  options.chunk_size = 128;  // so the template stage, not the outer product mean, is the largest transient
  const auto without = fold::estimate_peak_memory(config, {1024, 512, 1024, 0}, options);
  const auto with = fold::estimate_peak_memory(config, {1024, 512, 1024, 4}, options);
  // Four templates' pair activations [4, L, L, 64] twice (stacking) plus one template's transients:
  // at least 2 * 4 * 1024^2 * 64 * 4 bytes = 2 GiB before the +20 % margin.
  CHECK(with.total_bytes > without.total_bytes);
  CHECK(with.largest_transient == std::string("template pair stack"));
  CHECK(with.largest_transient_bytes >= int64_t{2} * 4 * 1024 * 1024 * 64 * 4);
  config.model.embeddings_and_evoformer.template_.enabled = false;
  CHECK(fold::estimate_peak_memory(config, {1024, 512, 1024, 4}, options).total_bytes == without.total_bytes);
}

TEST_CASE("Memory estimate counts the input features the run holds (one padded batch per recycle)") {
  // They grew the peak by 23 MiB per recycle at L = 128 and went uncounted: 2.9 GB at --recycles 100
  // against an estimate of 0.3 GB.
  const auto config = fold::model_config("model_3_ptm");
  fold::InputPipelineConfig pipeline = fold::input_pipeline_config(config);
  const fold::RunOptions options;
  const auto bytes = [&](int64_t recycles) {
    pipeline.num_recycle = recycles;
    return fold::processed_feature_bytes(pipeline, 128, 0);
  };
  CHECK(bytes(100) == 101 * bytes(0));  // one batch per iteration
  CHECK(bytes(0) > (512 * 128 * 49 + 5120 * 128 * 4) * 4);
  const auto base = fold::estimate_peak_memory(config, {128, 1, 0, 0}, options);
  const auto with = fold::estimate_peak_memory(config, {128, 1, 0, 0, bytes(100)}, options);
  CHECK(with.total_bytes - base.total_bytes >= bytes(100));
}

TEST_CASE("Suggested chunk size fits the memory given, or is 0 when nothing fits") {
  const auto config = fold::model_config("model_1_ptm");
  fold::RunOptions reference;
  reference.attention_kernel = fold::AttentionKernel::reference;
  const fold::ProblemSize size{1024, 512, 1024};
  const int64_t budget = int64_t{16} << 30;
  const int64_t chunk = fold::suggest_chunk_size(config, size, reference, budget);
  REQUIRE(chunk > 0);
  auto with_chunk = reference;
  with_chunk.chunk_size = chunk;
  CHECK(fold::estimate_peak_memory(config, size, with_chunk).total_bytes <= budget);
  with_chunk.chunk_size = chunk * 2;
  CHECK(fold::estimate_peak_memory(config, size, with_chunk).total_bytes > budget);
  CHECK(fold::suggest_chunk_size(config, size, reference, int64_t{100} << 20) == 0);
}

TEST_CASE("Available memory of the CPU is known on Linux") {
  const int64_t bytes = fold::available_memory_bytes(c10::Device(c10::kCPU));
  CHECK(bytes > 0);
}

TEST_CASE("Memory estimate counts the heads' L x L x 64 tensors in float32, five with the aligned-error head") {
  // Measured at L = 1000 with data/examples/small_model.json: the heads add 0.7 GB to the trunk's 1.1 GB
  // (the estimate named the trunk's stages and was 1.4 GB against a 1.76 GB peak).
  auto config = fold::model_config("model_1_ptm");
  fold::apply_config_file(config, kfold::test::source_dir() / "data/examples/small_model.json");
  const fold::ProblemSize size{1000, 16, 16};
  for (const auto dtype : {c10::kFloat, c10::kBFloat16}) {
    fold::RunOptions options;
    options.dtype = dtype;
    const auto ptm = fold::estimate_peak_memory(config, size, options);
    CHECK(ptm.largest_transient == "distogram and aligned-error heads");
    CHECK(ptm.largest_transient_bytes == int64_t{1000} * 1000 * 64 * 5 * 4);
  }
  config.model.heads.predicted_aligned_error.weight = 0;  // model_1: the distogram alone
  const auto plain = fold::estimate_peak_memory(config, size, fold::RunOptions{});
  CHECK(plain.largest_transient == "distogram head");
  CHECK(plain.largest_transient_bytes == int64_t{1000} * 1000 * 64 * 3 * 4);
}

TEST_CASE("Memory estimate scales the heads' tensors with each head's num_bins") {
  // A config with more bins (the estimate assumed 64 for both heads) holds proportionally larger logits.
  auto config = fold::model_config("model_1_ptm");
  fold::apply_config_file(config, kfold::test::source_dir() / "data/examples/small_model.json");
  config.model.heads.distogram.num_bins = 128;
  config.model.heads.predicted_aligned_error.num_bins = 256;
  const auto estimate = fold::estimate_peak_memory(config, {1000, 16, 16}, fold::RunOptions{});
  CHECK(estimate.largest_transient == "distogram and aligned-error heads");
  // At pTM: the distogram's logits beside the aligned-error head's logits, softmax, pTM's softmax and product.
  CHECK(estimate.largest_transient_bytes == int64_t{1000} * 1000 * (128 + 4 * 256) * 4);
  // A distogram with more bins than the aligned-error head peaks while its logits are made symmetric.
  config.model.heads.distogram.num_bins = 512;
  config.model.heads.predicted_aligned_error.num_bins = 16;
  CHECK(fold::estimate_peak_memory(config, {1000, 16, 16}, fold::RunOptions{}).largest_transient_bytes ==
        int64_t{1000} * 1000 * 3 * 512 * 4);
}

TEST_CASE("A full-size model at L = 3000 fits an 80 GB GPU with a chunk size, in float32 and bfloat16") {
  // The GPU target (no out-of-memory up to L = 3000 on an H100 80 GB) as the guard sees it: model_1_ptm
  // with AlphaFold's 512 cluster and 5120 extra-MSA rows. Unchunked, float32 does not fit (the outer
  // product mean's transient); with the suggested chunk size both dtypes do. The GPU check
  // (scripts/gpu_check) measures the real peak.
  const auto config = fold::model_config("model_1_ptm");
  const fold::ProblemSize size{3000, 512, 5120};
  const int64_t h100_free = int64_t{79} << 30;
  for (const auto dtype : {c10::kFloat, c10::kBFloat16}) {
    const std::string name = c10::toString(dtype);
    CAPTURE(name);
    fold::RunOptions options;
    options.dtype = dtype;
    const auto unchunked = fold::estimate_peak_memory(config, size, options);
    if (dtype == c10::kFloat) CHECK(unchunked.total_bytes > h100_free);
    options.chunk_size = fold::suggest_chunk_size(config, size, options, h100_free);
    CHECK(options.chunk_size > 0);
    const auto chunked = fold::estimate_peak_memory(config, size, options);
    MESSAGE(name << ": unchunked " << unchunked.total_bytes / (1 << 20) << " MiB (" << unchunked.largest_transient
                 << "), chunk " << options.chunk_size << ": " << chunked.total_bytes / (1 << 20) << " MiB ("
                 << chunked.largest_transient << ")");
    CHECK(chunked.total_bytes <= h100_free);
  }
}

TEST_CASE("Chunk size auto: none when everything fits, the suggested one when not, explicit ones kept") {
  const auto config = fold::model_config("model_1_ptm");
  fold::RunOptions options;
  options.chunk_size = fold::RunOptions::kAutoChunk;
  CHECK(fold::resolve_chunk_size(config, {64, 32, 32}, options).chunk_size == 0);  // a few hundred MB
  // L = 3000 does not fit this machine unchunked (over 100 GB); the guard's suggestion for its free memory.
  const fold::ProblemSize large{3000, 512, 5120};
  const int64_t available = fold::available_memory_bytes(c10::Device(c10::kCPU));
  const auto resolved = fold::resolve_chunk_size(config, large, options);
  CHECK(resolved.chunk_size == std::max<int64_t>(1, fold::suggest_chunk_size(config, large, options, available)));
  options.chunk_size = 16;
  CHECK(fold::resolve_chunk_size(config, large, options).chunk_size == 16);
  options.chunk_size = 0;
  CHECK(fold::resolve_chunk_size(config, large, options).chunk_size == 0);
}

TEST_CASE("Weights the process already holds count as available: the estimate counts them once") {
  const auto config = fold::model_config("model_1_ptm");
  fold::RunOptions options;
  fold::ProblemSize large{3000, 512, 5120};
  const int64_t need = fold::estimate_peak_memory(config, large, options).total_bytes;
  const int64_t available = fold::available_memory_bytes(c10::Device(c10::kCPU));
  if (need <= available) {  // a machine with over 127 GiB free: nothing to refuse here
    MESSAGE("skipped: this machine has the memory of an unchunked L = 3000 run");
    return;
  }
  CHECK_THROWS_AS(fold::check_memory(config, large, options), kfold::MemoryError);
  // Made-up resident weights: the memory they hold is the run's to use (8 GiB to spare, as the free memory
  // is read again inside).
  large.allocated_weight_bytes = need - available + (int64_t{8} << 30);
  CHECK_NOTHROW(fold::check_memory(config, large, options));
  options.chunk_size = fold::RunOptions::kAutoChunk;
  CHECK(fold::resolve_chunk_size(config, large, options).chunk_size == 0);
}

TEST_CASE("Memory verdict: a retaining malloc needs its margin, or is told to release freed memory") {
  using fold::MemoryVerdict;
  const int64_t gb = int64_t{1} << 30;
  // glibc (not retaining): the estimate against the available memory, nothing else.
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, false) == MemoryVerdict::fits);
  CHECK(fold::memory_verdict(12 * gb, 11 * gb, false) == MemoryVerdict::too_big);
  // tcmalloc: fits with kRetainingMallocFactor (1.45) of margin; between 1 and 1.45, fits if it releases.
  CHECK(fold::memory_verdict(10 * gb, 15 * gb, true) == MemoryVerdict::fits);
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, true) == MemoryVerdict::fits_releasing_freed_memory);
  CHECK(fold::memory_verdict(10 * gb, 10 * gb, true) == MemoryVerdict::fits_releasing_freed_memory);
  CHECK(fold::memory_verdict(12 * gb, 11 * gb, true) == MemoryVerdict::too_big);
  // Under an address-space limit releasing does not help (freed memory stays mapped): the margin must fit it,
  // whichever limit is tightest (here free memory, 11 GB, below the 13 GB the address-space limit leaves).
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, true, 11 * gb) == MemoryVerdict::too_big);
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, true, 13 * gb) == MemoryVerdict::too_big);
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, true, 15 * gb) == MemoryVerdict::fits_releasing_freed_memory);
  CHECK(fold::memory_verdict(10 * gb, 15 * gb, true, 15 * gb) == MemoryVerdict::fits);
  CHECK(fold::memory_verdict(10 * gb, 11 * gb, false, 11 * gb) == MemoryVerdict::fits);  // glibc: no margin
}

TEST_CASE("The test binaries run on glibc's malloc: nothing retained, nothing to release") {
  // (The kfold executable links tcmalloc; tests/python/test_cli_basics.py checks that through --version.)
  CHECK_FALSE(kfold::kernels::malloc_retains_freed_memory());
  CHECK_FALSE(kfold::kernels::malloc_release_freed_memory());
}

// The whole model with RunOptions::device = CUDA (label gpu): the AlphaFold reference fixture in float32
// with the parameters on the GPU, the fused attention kernel inside the model against the reference
// attention, the bfloat16 trunk, repeatability and chunking. Inputs are the fixture's (n_res 40): seconds.
// Tolerances:
//   against the reference (tests/fixtures/alphafold_model, model_case.hpp): CUDA fp32 sums in another order
//   and with cuBLAS's algorithms (TF32 off: every case turns it off and checks), so 10x the CPU's acceptance
//   numbers: final_atom_positions within 1e-2 A in every iteration from the reference's recycled inputs,
//   pLDDT within 1e-2, PAE within 1e-2 A, pTM within 1e-3, representations and logits within 1e-3 of their
//   largest magnitude. A wrong mask, bias, dtype or a tensor left behind shows as 0.1 A and more.
//   The fixture's head dims (4 and 3) have no CUDA kernel, so the fused-kernel cases use its config with wider
//   channels (head dims 8 and 16) and random weights (KernelModel below); on the CPU that model measured:
//   fused vs reference attention, iterations 0 and 1 from the same state: the CPU's acceptance numbers
//     (positions 1e-3 A, pLDDT 1e-3, PAE 1e-3 A, pTM 1e-4, representations 1e-4; measured 1.1e-4 A,
//     1.1e-5, 4.3e-5 A, 5e-8, 1.3e-6);
//   CUDA vs CPU, one iteration: the tolerances against the reference above;
//   bfloat16 (fused vs reference, both bfloat16; and the fixture against its float32 run): the CPU's
//     mixed-precision tolerances (model_case.hpp check_bfloat16_iteration);
//   repeatability: two runs give bit-identical outputs (no atomics in the model's ops or kernels);
//   chunk_size 3 vs 0, one iteration: positions within 5e-4 A, representations and logits within 1e-5 of
//     their largest magnitude, pLDDT within 1e-3, PAE within 1e-3 A. That is the fp32 noise floor of this
//     model, not a looser test: the CPU measures 8.8e-5 A and 1e-6 (chunked GEMMs of other shapes round
//     otherwise, and 1e-6 relative noise on the inputs alone moves positions by 1.3e-4 A), while a chunk
//     that loses or repeats rows, or slices a mask wrongly, moves atoms by 1e-2 A and more.
// Without a CUDA device every case passes with a message, unless KFOLD_REQUIRE_GPU=1 (scripts/gpu_check).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/model_case.hpp"
#include "fold/run_options.hpp"
#include "fold/weights.hpp"
#include "gpu_test_support.hpp"

namespace fold = kfold::fold;
using kfold::test::check_bfloat16_iteration;
using kfold::test::check_model_case;
using kfold::test::check_scaled;
using kfold::test::have_cuda;
using kfold::test::ModelCase;
using kfold::test::ModelTolerance;

namespace {

const c10::Device kCuda(c10::kCUDA);

// fp32 matmuls at full precision: TF32 would round their inputs to 10 bits of mantissa.
void full_precision_matmuls() {
  at::globalContext().setAllowTF32CuBLAS(false);
  REQUIRE_FALSE(at::globalContext().allowTF32CuBLAS());
}

fold::RunOptions run_options(c10::Device device, fold::AttentionKernel kernel, int64_t chunk_size = 0,
                             c10::ScalarType dtype = c10::kFloat) {
  fold::RunOptions options;
  options.device = device;
  options.attention_kernel = kernel;
  options.chunk_size = chunk_size;
  options.dtype = dtype;
  return options;
}

// Against the reference, and CUDA against the CPU (see the header).
ModelTolerance cuda_tolerance() {
  ModelTolerance tol;
  tol.positions = 1e-2;
  tol.plddt = 1e-2;
  tol.pae = 1e-2;
  tol.ptm = 1e-3;
  tol.representations = 1e-3;
  return tol;
}

// `actual` against `expected`, two runs of one model: what the heads and the structure module give.
void check_outputs_close(const fold::ModelOutputs& actual, const fold::ModelOutputs& expected,
                         const ModelTolerance& tol, const std::string& what) {
  INFO(what);
  using kfold::test::check_close;
  check_close(actual.structure.final_atom_positions, expected.structure.final_atom_positions, tol.positions, 0.0,
              what + ": final_atom_positions");
  check_scaled(actual.single, expected.single, tol.representations, what + ": single");
  check_scaled(actual.pair, expected.pair, tol.representations, what + ": pair");
  check_scaled(actual.msa_first_row, expected.msa_first_row, tol.representations, what + ": msa_first_row");
  check_scaled(actual.structure.act, expected.structure.act, tol.representations,
               what + ": structure module activations");
  check_scaled(actual.distogram.logits, expected.distogram.logits, tol.representations, what + ": distogram logits");
  check_close(actual.plddt, expected.plddt, tol.plddt, 0.0, what + ": plddt");
  check_close(actual.predicted_aligned_error, expected.predicted_aligned_error, tol.pae, 0.0, what + ": PAE");
  CHECK(std::abs(actual.ptm - expected.ptm) <= tol.ptm);
}

// Bit for bit.
void check_outputs_equal(const fold::ModelOutputs& a, const fold::ModelOutputs& b) {
  CHECK(at::equal(a.structure.final_atom_positions, b.structure.final_atom_positions));
  CHECK(at::equal(a.structure.act, b.structure.act));
  CHECK(at::equal(a.single, b.single));
  CHECK(at::equal(a.pair, b.pair));
  CHECK(at::equal(a.msa_first_row, b.msa_first_row));
  CHECK(at::equal(a.distogram.logits, b.distogram.logits));
  CHECK(at::equal(a.masked_msa_logits, b.masked_msa_logits));
  CHECK(at::equal(a.experimentally_resolved_logits, b.experimentally_resolved_logits));
  CHECK(at::equal(a.plddt, b.plddt));
  CHECK(at::equal(a.predicted_aligned_error, b.predicted_aligned_error));
  CHECK(a.mean_plddt == b.mean_plddt);
  CHECK(a.ptm == b.ptm);
}

// Case ptm_recycle's config and features with channels that give the attention head dims the CUDA kernel
// has (MSA row and column attention 64 / 4 heads = 16, extra-MSA row attention 32 / 4 = 8, triangle
// attention 16 / 2 = 8) and deterministic random weights on `device`.
struct KernelModel {
  ModelCase fixture;  // features (CPU) and config
  fold::ModelConfig config;
  std::unique_ptr<fold::ParameterStore> params;
  std::unique_ptr<fold::AlphaFoldModel> model;

  explicit KernelModel(c10::Device device) : fixture("ptm_recycle"), config(fixture.config) {
    fold::apply_config_json(
        config,
        R"({"model": {"embeddings_and_evoformer": {"msa_channel": 64, "pair_channel": 16, "extra_msa_channel": 32}}})",
        "CUDA kernel head dims");
    const auto& e = config.model.embeddings_and_evoformer;
    REQUIRE(e.msa_channel / e.evoformer.msa_row_attention_with_pair_bias.num_head == 16);
    REQUIRE(e.msa_channel / e.evoformer.msa_column_attention.num_head == 16);
    REQUIRE(e.extra_msa_channel / e.evoformer.msa_row_attention_with_pair_bias.num_head == 8);
    REQUIRE(e.pair_channel / e.evoformer.triangle_attention_starting_node.num_head == 8);
    REQUIRE(e.pair_channel / e.evoformer.triangle_attention_ending_node.num_head == 8);
    params = fold::ParameterStore::random(2024, c10::TensorOptions().dtype(c10::kFloat).device(device),
                                          "cuda kernel head dims");
    model = std::make_unique<fold::AlphaFoldModel>(params->root(), config);
  }

  // One iteration from the zero recycled state.
  fold::ModelOutputs first_iteration(const fold::RunOptions& options) const {
    const auto& f = fixture.features;
    return model->iteration(f, 0, model->initial_state(f.n_res(), options), options);
  }
  // Iteration 1 from the state `previous` recycles (Alg. 2 lines 20-21).
  fold::ModelOutputs second_iteration(const fold::ModelOutputs& previous, const fold::RunOptions& options) const {
    const fold::AlphaFoldModel::Recycled state{previous.structure.final_atom_positions,
                                               previous.msa_first_row.to(options.dtype),
                                               previous.pair.to(options.dtype)};
    return model->iteration(fixture.features, 1, state, options);
  }
  fold::ModelOutputs predict(const fold::RunOptions& options) const {
    return model->predict(fixture.features, options);
  }
};

}  // namespace

TEST_CASE("AlphaFoldModel on CUDA matches the reference: pTM preset, extra-MSA stack, 3 iterations, fused") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  check_model_case("ptm_recycle", run_options(kCuda, fold::AttentionKernel::fused), cuda_tolerance());
}

TEST_CASE("AlphaFoldModel on CUDA matches the reference: non-pTM preset, uneven sizes, chunked reference attention") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  check_model_case("uneven", run_options(kCuda, fold::AttentionKernel::reference, 3), cuda_tolerance());
}

TEST_CASE("AlphaFoldModel on CUDA matches the reference: templates (pair stack, torsion-angle rows), fused") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  check_model_case("templates", run_options(kCuda, fold::AttentionKernel::fused), cuda_tolerance());
}

TEST_CASE("AlphaFoldModel on CUDA: the fused attention kernel agrees with the reference attention") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  const KernelModel m(kCuda);
  const auto fused = run_options(kCuda, fold::AttentionKernel::fused);
  const auto reference = run_options(kCuda, fold::AttentionKernel::reference);

  const auto a = m.first_iteration(fused);
  const auto b = m.first_iteration(reference);
  CHECK(a.pair.is_cuda());
  CHECK_FALSE(at::equal(a.pair, b.pair));  // the kernel really ran: another summation order
  check_outputs_close(a, b, ModelTolerance{}, "fp32 iteration 0");
  // The next iteration from one recycled state: comparing whole loops could part at a recycling bin edge.
  check_outputs_close(m.second_iteration(b, fused), m.second_iteration(b, reference), ModelTolerance{},
                      "fp32 iteration 1");

  // bfloat16 inputs to the kernel (the extra-MSA stack and the Evoformer in bfloat16).
  const auto a16 = m.first_iteration(run_options(kCuda, fold::AttentionKernel::fused, 0, c10::kBFloat16));
  const auto b16 = m.first_iteration(run_options(kCuda, fold::AttentionKernel::reference, 0, c10::kBFloat16));
  CHECK_FALSE(at::equal(a16.pair, b16.pair));
  check_bfloat16_iteration(a16, b16);
}

TEST_CASE("AlphaFoldModel on CUDA agrees with the same model on the CPU") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  const KernelModel gpu(kCuda), cpu(c10::Device(c10::kCPU));
  for (const auto kernel : {fold::AttentionKernel::fused, fold::AttentionKernel::reference}) {
    const auto a = gpu.first_iteration(run_options(kCuda, kernel));
    const auto b = cpu.first_iteration(run_options(c10::Device(c10::kCPU), kernel));
    CHECK(a.structure.final_atom_positions.is_cuda());
    CHECK_FALSE(b.structure.final_atom_positions.is_cuda());
    check_outputs_close(a, b, cuda_tolerance(),
                        kernel == fold::AttentionKernel::fused ? "fused attention" : "reference attention");
  }
}

TEST_CASE("AlphaFoldModel on CUDA: the bfloat16 trunk stays near the float32 model") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  kfold::test::check_bfloat16_near_float32(kCuda);
}

TEST_CASE("AlphaFoldModel on CUDA: two runs give bit-identical outputs (fp32 and bf16, fused attention)") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  const KernelModel m(kCuda);
  for (const auto dtype : {c10::kFloat, c10::kBFloat16}) {
    INFO("dtype " << dtype);
    const auto options = run_options(kCuda, fold::AttentionKernel::fused, 0, dtype);
    check_outputs_equal(m.predict(options), m.predict(options));
  }
}

TEST_CASE("AlphaFoldModel on CUDA: chunk_size does not change the result") {
  if (!have_cuda()) return;
  full_precision_matmuls();
  const KernelModel m(kCuda);
  ModelTolerance tol;  // see the header
  tol.positions = 5e-4;
  tol.representations = 1e-5;
  for (const auto kernel : {fold::AttentionKernel::fused, fold::AttentionKernel::reference}) {
    const auto whole = m.first_iteration(run_options(kCuda, kernel, 0));
    const auto chunked = m.first_iteration(run_options(kCuda, kernel, 3));
    check_outputs_close(chunked, whole, tol,
                        kernel == fold::AttentionKernel::fused ? "fused attention, chunk_size 3 vs 0"
                                                               : "reference attention, chunk_size 3 vs 0");
  }
}

// `kfold predict` and the agent's structure oracle with RunOptions::device = CUDA (label gpu): the outputs
// the model leaves on the GPU are read back on the host and agree with the same run on the CPU.
// Model: model_1_ptm at the whole-model fixture's small config (tests/fixtures/alphafold_model/
// ptm_recycle_config.json) with random weights, no recycling (a recycled distogram could jump a bin edge
// between devices), 40 residues of ubiquitin, single sequence: seconds.
// Tolerances, CUDA against the CPU (fp32, TF32 off; tests/fold/gpu/test_model_cuda.cpp measured such a
// model within ~1e-4 A): pLDDT within 1e-2, PAE within 1e-2 A, pTM within 1e-3, C-alpha within 1e-2 A.
// Without a CUDA device every case passes with a message, unless KFOLD_REQUIRE_GPU=1 (scripts/gpu_check).
#include <ATen/ATen.h>  // before doctest: its CHECK, not c10/util/Logging.h's, is the one that stays
#include <ATen/Context.h>
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "fold/run_options.hpp"
#include "gpu_test_support.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/model_structure_oracle.hpp"
#include "pipelines/predict/predict_target.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
namespace fold = kfold::fold;
namespace pipelines = kfold::pipelines;
using kfold::test::have_cuda;

namespace {

const std::string kSequence = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQ";  // ubiquitin 1-40

fs::path small_config() { return kfold::test::source_dir() / "tests/fixtures/alphafold_model/ptm_recycle_config.json"; }

fold::RunOptions on(c10::Device device) {
  at::globalContext().setAllowTF32CuBLAS(false);  // fp32 matmuls at full precision
  REQUIRE_FALSE(at::globalContext().allowTF32CuBLAS());
  fold::RunOptions run;
  run.device = device;
  return run;
}

// max |a - b| over two equally long series.
double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double max = 0;
  for (size_t i = 0; i < a.size(); ++i) max = std::max(max, std::abs(a[i] - b[i]));
  return max;
}

}  // namespace

TEST_CASE("ModelStructureOracle on CUDA: pLDDT, PAE and pTM read back from the GPU match the CPU") {
  if (!have_cuda()) return;
  const pipelines::ModelSpec spec{"model_1_ptm", small_config(), 0};
  const pipelines::LoadedModel gpu_model(spec, {}, 7, on(c10::Device(c10::kCUDA)));
  const pipelines::LoadedModel cpu_model(spec, {}, 7, on(c10::Device(c10::kCPU)));
  pipelines::ModelStructureOracle gpu_oracle(gpu_model, std::nullopt, 3);
  pipelines::ModelStructureOracle cpu_oracle(cpu_model, std::nullopt, 3);
  const auto gpu = gpu_oracle.predict(kSequence);
  const auto cpu = cpu_oracle.predict(kSequence);

  REQUIRE(gpu.plddt.size() == kSequence.size());
  REQUIRE(gpu.pae.size() == kSequence.size() * kSequence.size());
  REQUIRE(gpu.ca.size() == kSequence.size());
  for (const double p : gpu.plddt) CHECK((p >= 0 && p <= 100));
  CHECK(max_abs_difference(gpu.plddt, cpu.plddt) <= 1e-2);
  CHECK(max_abs_difference(gpu.pae, cpu.pae) <= 1e-2);
  CHECK(std::abs(gpu.ptm - cpu.ptm) <= 1e-3);
  double ca = 0;
  for (size_t i = 0; i < gpu.ca.size(); ++i)
    for (size_t k = 0; k < 3; ++k) ca = std::max(ca, std::abs(gpu.ca[i][k] - cpu.ca[i][k]));
  MESSAGE("C-alpha max difference CUDA vs CPU " << ca << " A");
  CHECK(ca <= 1e-2);
}

TEST_CASE("predict_target on CUDA writes every output and scores like the CPU") {
  if (!have_cuda()) return;
  kfold::test::ScratchDir dir("predict_cuda");
  std::ofstream(dir / "ubq.fasta") << ">ubq\n" << kSequence << "\n";
  pipelines::PredictOptions options;
  options.query = dir / "ubq.fasta";
  options.models = {"model_1_ptm"};
  options.random_weights = true;
  options.config = small_config();
  options.recycles = 0;
  options.seed = 5;

  options.output_dir = dir / "cuda";
  options.run = on(c10::Device(c10::kCUDA));
  const auto gpu = pipelines::predict_target(options);
  options.output_dir = dir / "cpu";
  options.run = on(c10::Device(c10::kCPU));
  const auto cpu = pipelines::predict_target(options);

  for (const char* file :
       {"result_model_1_ptm.h5", "unrelaxed_model_1_ptm.pdb", "unrelaxed_model_1_ptm.cif",
        "confidence_model_1_ptm.json", "pae_model_1_ptm.json", "ranked_0.pdb", "plddt.png", "pae.png", "done"})
    CHECK_MESSAGE(fs::exists(gpu.target_dir / file), file);
  REQUIRE(gpu.models.size() == 1);
  REQUIRE(cpu.models.size() == 1);
  CHECK(gpu.models[0].peak_gpu_bytes > 0);
  CHECK(cpu.models[0].peak_gpu_bytes == -1);
  CHECK(std::abs(gpu.models[0].mean_plddt - cpu.models[0].mean_plddt) <= 1e-2);
  CHECK(std::abs(gpu.models[0].ptm - cpu.models[0].ptm) <= 1e-3);
}

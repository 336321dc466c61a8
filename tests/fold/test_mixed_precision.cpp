// Mixed precision (RunOptions::dtype = bfloat16): the trunk in bfloat16, the structure module and the
// heads in float32, against the same model in float32 (tests/fixtures/alphafold_model, ptm_recycle:
// model_1_ptm at a small config with random perturbed weights, n_res 40).
// Tolerances (bfloat16 keeps 8 bits of mantissa, a relative rounding of 0.4 % per operation):
//   trunk outputs (pair, single, MSA first row): relative RMS error <= 3 % (measured 1.2 / 0.9 / 0.9 %);
//   pLDDT within 1 (measured 0.09), mean |PAE difference| <= 0.5 A (0.11), pTM within 0.01 (0.0013);
//   C-alpha RMSD <= 2.5 A (1.1). This model's structure module is sensitive: 0.4 % random noise on its
//   float32 inputs alone moves C-alpha by 0.17 A RMSD, so the trunk's 1 % error gives ~1 A here.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/weights.hpp"
#include "test_support.hpp"

namespace fold = kfold::fold;

namespace {

double relative_rms(const at::Tensor& actual, const at::Tensor& expected) {
  return ((actual - expected).norm() / expected.norm()).item<double>();
}

double ca_rmsd(const at::Tensor& a, const at::Tensor& b) {  // [n_res, 37, 3] each
  return (a.select(1, 1) - b.select(1, 1)).pow(2).sum(-1).mean().sqrt().item<double>();
}

}  // namespace

TEST_CASE("bfloat16 trunk stays near the float32 model, structure and heads stay float32") {
  const auto dir = kfold::test::source_dir() / "tests/fixtures/alphafold_model";
  auto config = fold::model_config("model_1_ptm");
  fold::apply_config_file(config, dir / "ptm_recycle_config.json");
  const auto features = fold::read_processed_features(dir / "ptm_recycle_features.npz");
  fold::ParameterStore params(dir / "ptm_recycle_params.npz");
  const fold::AlphaFoldModel model(params.root(), config);
  fold::RunOptions fp32, bf16;
  bf16.dtype = at::kBFloat16;

  // One iteration from the zero recycled state.
  const auto a = model.iteration(features, 0, model.initial_state(features.n_res(), fp32), fp32);
  const auto b = model.iteration(features, 0, model.initial_state(features.n_res(), bf16), bf16);
  CHECK((b.structure.final_atom_positions.scalar_type() == at::kFloat));
  CHECK((b.plddt.scalar_type() == at::kFloat));
  CHECK(relative_rms(b.pair, a.pair) > 0);  // bfloat16 really ran
  CHECK(relative_rms(b.pair, a.pair) <= 0.03);
  CHECK(relative_rms(b.single, a.single) <= 0.03);
  CHECK(relative_rms(b.msa_first_row, a.msa_first_row) <= 0.03);
  CHECK((b.plddt - a.plddt).abs().max().item<double>() <= 1.0);
  CHECK((b.predicted_aligned_error - a.predicted_aligned_error).abs().mean().item<double>() <= 0.5);
  CHECK(std::abs(b.ptm - a.ptm) <= 0.01);
  CHECK(ca_rmsd(b.structure.final_atom_positions, a.structure.final_atom_positions) <= 2.5);

  // The whole recycling loop.
  const auto full_a = model.predict(features, fp32);
  const auto full_b = model.predict(features, bf16);
  CHECK(full_b.num_iterations == full_a.num_iterations);
  CHECK(at::isfinite(full_b.structure.final_atom_positions).all().item<bool>());
  CHECK(std::abs(full_b.mean_plddt - full_a.mean_plddt) <= 1.0);
  CHECK(ca_rmsd(full_b.structure.final_atom_positions, full_a.structure.final_atom_positions) <= 2.5);
}

// The whole-model fixtures (tests/fixtures/alphafold_model, scripts/make_fixture_alphafold_model.py) and the
// checks on them that the CPU suite and the CUDA one (tests/fold/gpu/) share: parity with the AlphaFold
// reference within a stated tolerance, and the bfloat16 trunk against the float32 model.
#pragma once

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "data/npz_file.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/confidence.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/weights.hpp"
#include "fold_fixture.hpp"
#include "test_support.hpp"

namespace kfold::test {

inline std::filesystem::path model_case_dir() { return source_dir() / "tests/fixtures/alphafold_model"; }

// One case of the fixture: its preset with the case's overrides, its parameters (with `params_options`,
// e.g. on a CUDA device), its processed features (on the CPU) and the reference's outputs.
struct ModelCase {
  std::string name;
  fold::ModelConfig config;
  std::unique_ptr<fold::ParameterStore> params;
  fold::ProcessedFeatures features;
  std::shared_ptr<const data::NpzFile> expected;

  explicit ModelCase(const std::string& case_name,
                     c10::TensorOptions params_options = c10::TensorOptions().dtype(c10::kFloat))
      : name(case_name) {
    std::ifstream cases(model_case_dir() / "cases.json");
    const auto preset = nlohmann::json::parse(cases).at(name).at("preset").get<std::string>();
    config = fold::model_config(preset);
    fold::apply_config_file(config, model_case_dir() / (name + "_config.json"));
    params = std::make_unique<fold::ParameterStore>(model_case_dir() / (name + "_params.npz"), params_options);
    features = fold::read_processed_features(model_case_dir() / (name + "_features.npz"));
    expected = std::make_shared<const data::NpzFile>(model_case_dir() / (name + "_outputs.npz"));
  }
  // The reference's output `key`, float32 on the CPU.
  at::Tensor output(const std::string& key) const {
    const auto values = expected->read<float>(key);
    return at::tensor(at::ArrayRef<float>(values)).reshape(expected->get(key).shape);
  }
};

// How close a run must come to the reference. The defaults are the project's acceptance numbers for the
// whole model, fp32 on the CPU (tests/fold/test_alphafold_model.cpp).
struct ModelTolerance {
  double positions = 1e-3;        // final_atom_positions of every iteration, Angstrom
  double plddt = 1e-3;            // pLDDT and mean pLDDT (0..100)
  double pae = 1e-3;              // predicted aligned error, Angstrom
  double ptm = 1e-4;              // pTM (0..1)
  double representations = 1e-4;  // single, pair, MSA first row, structure-module activations and the heads'
                                  // logits, relative to the expected tensor's largest magnitude
};

// Within `relative` of the expected tensor's largest magnitude.
inline void check_scaled(const at::Tensor& actual, const at::Tensor& expected, double relative,
                         const std::string& what) {
  check_close(actual, expected, relative * expected.abs().max().item<double>(), 0.0, what);
}

// The last iteration's outputs against the reference's.
inline void check_final(const ModelCase& c, const fold::ModelOutputs& out, const ModelTolerance& tol) {
  const double rel = tol.representations;
  check_close(out.structure.final_atom_positions, c.output("final_atom_positions"), tol.positions, 0.0,
              "final_atom_positions");
  CHECK(at::equal(out.structure.final_atom_mask.cpu(), c.output("final_atom_mask")));
  check_scaled(out.single, c.output("single"), rel, "single");
  check_scaled(out.pair, c.output("pair"), rel, "pair");
  check_scaled(out.msa_first_row, c.output("msa_first_row"), rel, "msa_first_row");
  check_scaled(out.structure.act, c.output("structure_module"), rel, "structure module activations");
  check_close(out.plddt, c.output("plddt"), tol.plddt, 0.0, "plddt");
  CHECK(std::abs(out.mean_plddt - c.output("mean_plddt").item<double>()) <= tol.plddt);
  check_scaled(out.distogram.logits.slice(0, 0, 8), c.output("distogram_logits_rows8"), rel, "distogram logits");
  check_scaled(out.masked_msa_logits[0], c.output("masked_msa_logits_row0"), rel, "masked MSA logits");
  check_scaled(out.experimentally_resolved_logits, c.output("experimentally_resolved_logits"), rel,
               "experimentally resolved logits");
  const bool ptm = c.expected->find("ptm") != nullptr;
  CHECK(out.aligned_error.has_value() == ptm);
  if (ptm) {
    check_close(out.predicted_aligned_error, c.output("predicted_aligned_error"), tol.pae, 0.0, "PAE");
    CHECK(out.max_predicted_aligned_error ==
          doctest::Approx(c.output("max_predicted_aligned_error").item<double>()).epsilon(1e-6));
    MESSAGE("pTM " << out.ptm << " reference " << c.output("ptm").item<double>());
    CHECK(std::abs(out.ptm - c.output("ptm").item<double>()) <= tol.ptm);
  }
  if (c.expected->find("iptm") != nullptr) {  // a complex (asym_id in the features): the interface pTM
    REQUIRE(out.aligned_error.has_value());
    const auto asym_id = at::tensor(c.features.asym_id);  // [n_res]
    const double iptm = fold::predicted_tm_score(out.aligned_error->logits.cpu(), out.aligned_error->breaks.cpu(), {},
                                                 asym_id, /*interface=*/true);
    MESSAGE("ipTM " << iptm << " reference " << c.output("iptm").item<double>());
    CHECK(std::abs(iptm - c.output("iptm").item<double>()) <= tol.ptm);
  }
}

// The recycling distogram jumps at its bin edges, so a pseudo-beta distance within fp32 noise (~1e-4 A
// here) of an edge lets two correct implementations part; the fixture records each iteration's margin.
constexpr double kMinBinMargin = 1e-3;  // Angstrom

// The case `name` run with `options`, parameters on options.device: every iteration from the reference's
// recycled inputs (Alg. 2 lines 3-22 on their own), then the whole loop for as long as every recycled
// distance so far is clear of the bin edges by kMinBinMargin and by the position tolerance. The outputs
// stay on options.device.
inline void check_model_case(const std::string& name, const fold::RunOptions& options, const ModelTolerance& tol = {}) {
  const ModelCase c(name, c10::TensorOptions().dtype(c10::kFloat).device(options.device));
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  CHECK(c.params->unused_keys().empty());

  const auto prev_pos = c.output("prev_pos");  // [n_iter, n_res, 37, 3] each iteration's output
  const auto margins = c.output("iteration_bin_margin");
  const int64_t n_iter = prev_pos.size(0);

  // Each iteration from the reference's recycled state (on the CPU: the model moves it to its device).
  for (int64_t r = 0; r < n_iter; ++r) {
    const fold::AlphaFoldModel::Recycled previous{r == 0 ? at::zeros_like(prev_pos[0]) : prev_pos[r - 1],
                                                  c.output("iteration_prev_msa_first_row")[r],
                                                  c.output("iteration_prev_pair")[r]};
    const auto out = model.iteration(c.features, r, previous, options);
    CHECK((out.structure.final_atom_positions.device().type() == options.device.type()));
    CHECK((out.pair.device().type() == options.device.type()));
    CHECK((out.plddt.device().type() == options.device.type()));
    check_close(out.structure.final_atom_positions, prev_pos[r], tol.positions, 0.0,
                "iteration " + std::to_string(r) + " from the reference's inputs: final_atom_positions");
    if (r == n_iter - 1) check_final(c, out, tol);
  }

  // The whole loop, compared while every recycled distance so far is clear of the bin edges.
  const double min_margin = std::max(kMinBinMargin, tol.positions);
  int64_t comparable = 0;
  while (comparable < n_iter && margins[comparable].item<double>() >= min_margin) ++comparable;
  int64_t iterations = 0;
  const auto out = model.predict(c.features, options, [&](int64_t r, int64_t n, const fold::ModelOutputs& it) {
    CHECK(n == n_iter);
    if (r < comparable)
      check_close(it.structure.final_atom_positions, prev_pos[r], tol.positions, 0.0,
                  "loop iteration " + std::to_string(r) + ": final_atom_positions");
    ++iterations;
  });
  CHECK(iterations == n_iter);
  CHECK(out.num_iterations == n_iter);
  CHECK((out.structure.final_atom_positions.device().type() == options.device.type()));
  if (comparable == n_iter) {
    check_final(c, out, tol);
  } else {
    MESSAGE("loop compared for " << comparable << " of " << n_iter << " iterations: iteration " << comparable
                                 << " receives a pseudo-beta distance " << margins[comparable].item<double>()
                                 << " A from a recycling bin edge");
    CHECK(at::isfinite(out.structure.final_atom_positions).all().item<bool>());
  }
}

// ||actual - expected|| / ||expected||.
inline double relative_rms(const at::Tensor& actual, const at::Tensor& expected) {
  return ((actual - expected).norm() / expected.norm()).item<double>();
}

// C-alpha RMSD of two [n_res, 37, 3] structures, Angstrom.
inline double ca_rmsd(const at::Tensor& a, const at::Tensor& b) {
  return (a.select(1, 1) - b.select(1, 1)).pow(2).sum(-1).mean().sqrt().item<double>();
}

// Mixed precision (RunOptions::dtype = bfloat16): the trunk in bfloat16, the structure module and the heads
// in float32. Iteration `b` of a bfloat16 trunk against the same iteration `a` of the same model in float32
// (or of another bfloat16 run).
// Tolerances (bfloat16 keeps 8 bits of mantissa, a relative rounding of 0.4 % per operation), measured on
// the CPU for case ptm_recycle (model_1_ptm at a small config with random perturbed weights, n_res 40):
//   trunk outputs (pair, single, MSA first row): relative RMS error <= 3 % (measured 1.2 / 0.9 / 0.9 %);
//   pLDDT within 1 (measured 0.09), mean |PAE difference| <= 0.5 A (0.11), pTM within 0.01 (0.0013);
//   C-alpha RMSD <= 2.5 A (1.1). This model's structure module is sensitive: 0.4 % random noise on its
//   float32 inputs alone moves C-alpha by 0.17 A RMSD, so the trunk's 1 % error gives ~1 A here.
inline void check_bfloat16_iteration(const fold::ModelOutputs& b, const fold::ModelOutputs& a) {
  CHECK((b.structure.final_atom_positions.scalar_type() == at::kFloat));
  CHECK((b.plddt.scalar_type() == at::kFloat));
  CHECK(relative_rms(b.pair, a.pair) <= 0.03);
  CHECK(relative_rms(b.single, a.single) <= 0.03);
  CHECK(relative_rms(b.msa_first_row, a.msa_first_row) <= 0.03);
  CHECK((b.plddt - a.plddt).abs().max().item<double>() <= 1.0);
  CHECK((b.predicted_aligned_error - a.predicted_aligned_error).abs().mean().item<double>() <= 0.5);
  CHECK(std::abs(b.ptm - a.ptm) <= 0.01);
  CHECK(ca_rmsd(b.structure.final_atom_positions, a.structure.final_atom_positions) <= 2.5);
}

// Case ptm_recycle with a bfloat16 trunk against the same model in float32, parameters and both runs on
// `device`: one iteration from the zero recycled state (check_bfloat16_iteration), then the whole loop
// (mean pLDDT within 1, C-alpha RMSD <= 2.5 A).
inline void check_bfloat16_near_float32(c10::Device device) {
  const ModelCase c("ptm_recycle", c10::TensorOptions().dtype(c10::kFloat).device(device));
  const auto& features = c.features;
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  fold::RunOptions fp32, bf16;
  fp32.device = device;
  bf16.device = device;
  bf16.dtype = at::kBFloat16;

  // One iteration from the zero recycled state.
  const auto a = model.iteration(features, 0, model.initial_state(features.n_res(), fp32), fp32);
  const auto b = model.iteration(features, 0, model.initial_state(features.n_res(), bf16), bf16);
  CHECK((b.pair.device().type() == device.type()));
  CHECK(relative_rms(b.pair, a.pair) > 0);  // bfloat16 really ran
  check_bfloat16_iteration(b, a);

  // The whole recycling loop.
  const auto full_a = model.predict(features, fp32);
  const auto full_b = model.predict(features, bf16);
  CHECK(full_b.num_iterations == full_a.num_iterations);
  CHECK(at::isfinite(full_b.structure.final_atom_positions).all().item<bool>());
  CHECK(std::abs(full_b.mean_plddt - full_a.mean_plddt) <= 1.0);
  CHECK(ca_rmsd(full_b.structure.final_atom_positions, full_a.structure.final_atom_positions) <= 2.5);
}

}  // namespace kfold::test

// Whole-model parity with the AlphaFold reference (modules.AlphaFold with recycling) at a small
// config: random perturbed parameters, processed features of a ubiquitin crop, every iteration.
// Fixtures: tests/fixtures/alphafold_model/ (scripts/make_fixture_alphafold_model.py), two cases:
//   ptm_recycle  model_1_ptm, n_res 40, extra-MSA stack, 3 iterations, aligned-error head
//   uneven       model_3, n_res 37 from the middle of the chain, 5 clusters, 2 iterations
// Every iteration is compared on its own, from the reference's recycled inputs, and the whole loop
// is compared as long as the recycled geometry is comparable: the recycling distogram jumps at its
// bin edges, so a pseudo-beta distance within fp32 noise (~1e-4 A here) of an edge lets two correct
// implementations part; the fixture records each iteration's margin (kMinBinMargin below).
// Tolerances (the project's acceptance numbers for the whole model, fp32 on the CPU):
//   final_atom_positions of every iteration within 1e-3 Angstrom,
//   pLDDT within 1e-3, PAE within 1e-3 Angstrom, pTM within 1e-4,
//   representations (single, pair, msa_first_row, structure-module activations) within 1e-4 of
//   their largest magnitude.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/weights.hpp"
#include "fold_fixture.hpp"
#include "test_support.hpp"

namespace fold = kfold::fold;
using kfold::test::check_close;

namespace {

std::filesystem::path case_dir() { return kfold::test::source_dir() / "tests/fixtures/alphafold_model"; }

struct ModelCase {
  std::string name;
  fold::ModelConfig config;
  std::unique_ptr<fold::ParameterStore> params;
  fold::ProcessedFeatures features;
  std::shared_ptr<const kfold::data::NpzFile> expected;

  explicit ModelCase(const std::string& case_name) : name(case_name) {
    std::ifstream cases(case_dir() / "cases.json");
    const auto preset = nlohmann::json::parse(cases).at(name).at("preset").get<std::string>();
    config = fold::model_config(preset);
    fold::apply_config_file(config, case_dir() / (name + "_config.json"));
    params = std::make_unique<fold::ParameterStore>(case_dir() / (name + "_params.npz"));
    features = fold::read_processed_features(case_dir() / (name + "_features.npz"));
    expected = std::make_shared<const kfold::data::NpzFile>(case_dir() / (name + "_outputs.npz"));
  }
  at::Tensor output(const std::string& key) const {
    const auto values = expected->read<float>(key);
    return at::tensor(at::ArrayRef<float>(values)).reshape(expected->get(key).shape);
  }
};

// Within `relative` of the expected tensor's largest magnitude.
void check_scaled(const at::Tensor& actual, const at::Tensor& expected, double relative, const std::string& what) {
  check_close(actual, expected, relative * expected.abs().max().item<double>(), 0.0, what);
}

constexpr double kMinBinMargin = 1e-3;  // Angstrom

void check_final(const ModelCase& c, const fold::ModelOutputs& out) {
  check_close(out.structure.final_atom_positions, c.output("final_atom_positions"), 1e-3, 0.0, "final_atom_positions");
  CHECK(at::equal(out.structure.final_atom_mask, c.output("final_atom_mask")));
  check_scaled(out.single, c.output("single"), 1e-4, "single");
  check_scaled(out.pair, c.output("pair"), 1e-4, "pair");
  check_scaled(out.msa_first_row, c.output("msa_first_row"), 1e-4, "msa_first_row");
  check_scaled(out.structure.act, c.output("structure_module"), 1e-4, "structure module activations");
  check_close(out.plddt, c.output("plddt"), 1e-3, 0.0, "plddt");
  CHECK(std::abs(out.mean_plddt - c.output("mean_plddt").item<double>()) <= 1e-3);
  check_scaled(out.distogram.logits.slice(0, 0, 8), c.output("distogram_logits_rows8"), 1e-4, "distogram logits");
  check_scaled(out.masked_msa_logits[0], c.output("masked_msa_logits_row0"), 1e-4, "masked MSA logits");
  check_scaled(out.experimentally_resolved_logits, c.output("experimentally_resolved_logits"), 1e-4,
               "experimentally resolved logits");
  const bool ptm = c.expected->find("ptm") != nullptr;
  CHECK(out.aligned_error.has_value() == ptm);
  if (ptm) {
    check_close(out.predicted_aligned_error, c.output("predicted_aligned_error"), 1e-3, 0.0, "PAE");
    CHECK(out.max_predicted_aligned_error ==
          doctest::Approx(c.output("max_predicted_aligned_error").item<double>()).epsilon(1e-6));
    MESSAGE("pTM " << out.ptm << " reference " << c.output("ptm").item<double>());
    CHECK(std::abs(out.ptm - c.output("ptm").item<double>()) <= 1e-4);
  }
}

void check_case(const std::string& name, int64_t chunk_size, fold::AttentionKernel kernel) {
  ModelCase c(name);
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  CHECK(c.params->unused_keys().empty());

  fold::RunOptions options;
  options.chunk_size = chunk_size;
  options.attention_kernel = kernel;
  const auto prev_pos = c.output("prev_pos");  // [n_iter, n_res, 37, 3] each iteration's output
  const auto margins = c.output("iteration_bin_margin");
  const int64_t n_iter = prev_pos.size(0);

  // Each iteration from the reference's recycled state (Alg. 2 lines 3-22 on their own).
  for (int64_t r = 0; r < n_iter; ++r) {
    const fold::AlphaFoldModel::Recycled previous{
        r == 0 ? at::zeros_like(prev_pos[0]) : prev_pos[r - 1], c.output("iteration_prev_msa_first_row")[r],
        c.output("iteration_prev_pair")[r]};
    const auto out = model.iteration(c.features, r, previous, options);
    check_close(out.structure.final_atom_positions, prev_pos[r], 1e-3, 0.0,
                "iteration " + std::to_string(r) + " from the reference's inputs: final_atom_positions");
    if (r == n_iter - 1) check_final(c, out);
  }

  // The whole loop, compared while every recycled distance so far is clear of the bin edges.
  int64_t comparable = 0;
  while (comparable < n_iter && margins[comparable].item<double>() >= kMinBinMargin) ++comparable;
  int64_t iterations = 0;
  const auto out = model.predict(c.features, options, [&](int64_t r, int64_t n, const fold::ModelOutputs& it) {
    CHECK(n == n_iter);
    if (r < comparable)
      check_close(it.structure.final_atom_positions, prev_pos[r], 1e-3, 0.0,
                  "loop iteration " + std::to_string(r) + ": final_atom_positions");
    ++iterations;
  });
  CHECK(iterations == n_iter);
  CHECK(out.num_iterations == n_iter);
  if (comparable == n_iter) {
    check_final(c, out);
  } else {
    MESSAGE("loop compared for " << comparable << " of " << n_iter << " iterations: iteration " << comparable
                                 << " receives a pseudo-beta distance " << margins[comparable].item<double>()
                                 << " A from a recycling bin edge");
    CHECK(at::isfinite(out.structure.final_atom_positions).all().item<bool>());
  }
}

}  // namespace

TEST_CASE("AlphaFoldModel matches the reference: pTM preset, extra-MSA stack, 3 iterations") {
  check_case("ptm_recycle", 0, fold::AttentionKernel::fused);
}

TEST_CASE("AlphaFoldModel matches the reference: non-pTM preset, uneven sizes, chunked reference attention") {
  check_case("uneven", 3, fold::AttentionKernel::reference);
}

TEST_CASE("AlphaFoldModel refuses features with fewer batches than the recycles need") {
  ModelCase c("uneven");
  c.config.model.num_recycle = 5;
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  CHECK_THROWS_WITH_AS(model.predict(c.features, {}), doctest::Contains("2 batches on the leading axis, but 5 recycles"),
                       kfold::InputError);
}

// Whole-model parity with the AlphaFold reference (modules.AlphaFold with recycling) at a small
// config: random perturbed parameters, processed features of a ubiquitin crop, every iteration.
// Fixtures: tests/fixtures/alphafold_model/ (scripts/make_fixture_alphafold_model.py), four cases:
//   ptm_recycle  model_1_ptm, n_res 40, extra-MSA stack, 3 iterations, aligned-error head
//   uneven       model_3, n_res 37 from the middle of the chain, 5 clusters, 2 iterations
//   templates    model_1_ptm with 4 real PDB templates (template stack, torsion-angle rows), 2 iterations
//   complex      model_1_ptm, two chains as one input (asym_id, residue_index running on: the chains apart
//                only through alphafold-colabfold's relative-position rule), 2 iterations, ipTM within 1e-4
// Every iteration is compared on its own, from the reference's recycled inputs, and the whole loop
// is compared as long as the recycled geometry is comparable: the recycling distogram jumps at its
// bin edges, so a pseudo-beta distance within fp32 noise (~1e-4 A here) of an edge lets two correct
// implementations part; the fixture records each iteration's margin (kMinBinMargin, model_case.hpp,
// which holds the checks; tests/fold/gpu/test_model_cuda.cpp runs them on CUDA).
// Tolerances (the project's acceptance numbers for the whole model, fp32 on the CPU):
//   final_atom_positions of every iteration within 1e-3 Angstrom,
//   pLDDT within 1e-3, PAE within 1e-3 Angstrom, pTM within 1e-4,
//   representations (single, pair, msa_first_row, structure-module activations) within 1e-4 of
//   their largest magnitude.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/msa_file.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "model_case.hpp"

namespace fold = kfold::fold;

namespace {

void check_case(const std::string& name, int64_t chunk_size, fold::AttentionKernel kernel) {
  fold::RunOptions options;
  options.chunk_size = chunk_size;
  options.attention_kernel = kernel;
  kfold::test::check_model_case(name, options);  // the CPU's tolerances (ModelTolerance's defaults)
}

}  // namespace

TEST_CASE("AlphaFoldModel matches the reference: pTM preset, extra-MSA stack, 3 iterations") {
  check_case("ptm_recycle", 0, fold::AttentionKernel::fused);
}

TEST_CASE("AlphaFoldModel matches the reference: non-pTM preset, uneven sizes, chunked reference attention") {
  check_case("uneven", 3, fold::AttentionKernel::reference);
}

TEST_CASE("AlphaFoldModel matches the reference: templates, their pair stack and torsion-angle rows") {
  check_case("templates", 0, fold::AttentionKernel::fused);
}

TEST_CASE("AlphaFoldModel matches the reference: a complex as one input (asym_id), its relative positions and ipTM") {
  check_case("complex", 0, fold::AttentionKernel::fused);
  // Without asym_id the same features are one chain to the model: the check above can tell them apart.
  kfold::test::ModelCase c("complex");
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  const auto prev_pos = c.output("prev_pos");  // [n_iter, n_res, 37, 3]
  const fold::AlphaFoldModel::Recycled first{at::zeros_like(prev_pos[0]), c.output("iteration_prev_msa_first_row")[0],
                                             c.output("iteration_prev_pair")[0]};
  c.features.asym_id.clear();
  const auto one_chain = model.iteration(c.features, 0, first, fold::RunOptions{});
  CHECK((one_chain.structure.final_atom_positions - prev_pos[0]).abs().max().item<double>() > 1e-2);
}

TEST_CASE("AlphaFoldModel refuses features with fewer batches than the recycles need") {
  kfold::test::ModelCase c("uneven");
  c.config.model.num_recycle = 5;
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  CHECK_THROWS_WITH_AS(model.predict(c.features, {}),
                       doctest::Contains("2 batches on the leading axis, but 5 recycles"), kfold::InputError);
}

namespace {

// The shipped example: ubiquitin with its MSA (76 residues).
fold::RawFeatures ubiquitin_raw_features() {
  const auto examples = kfold::test::source_dir() / "data/examples";
  return fold::make_raw_features(kfold::data::read_fasta(examples / "ubiquitin.fasta").front(),
                                 {kfold::data::read_msa_file(examples / "ubiquitin.a3m")}, {"ubiquitin.a3m"});
}

}  // namespace

TEST_CASE("AlphaFoldModel: batches made per recycle give exactly the outputs of all batches made first") {
  const kfold::test::ModelCase c("ptm_recycle");
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  const auto raw = ubiquitin_raw_features();
  const auto pipeline = fold::input_pipeline_config(c.config);
  REQUIRE(pipeline.num_batches() >= 2);
  const fold::RunOptions options;
  std::vector<double> lazy_plddt;
  const auto lazy =
      model.predict(fold::InputBatches(raw, pipeline, 3), options,
                    [&](int64_t, int64_t, const fold::ModelOutputs& it) { lazy_plddt.push_back(it.mean_plddt); });
  std::vector<double> eager_plddt;
  const auto eager =
      model.predict(fold::make_model_inputs(raw, pipeline, 3), options,
                    [&](int64_t, int64_t, const fold::ModelOutputs& it) { eager_plddt.push_back(it.mean_plddt); });
  CHECK(lazy.num_iterations == pipeline.num_recycle + 1);
  CHECK(lazy_plddt == eager_plddt);
  CHECK(at::equal(lazy.structure.final_atom_positions, eager.structure.final_atom_positions));
  CHECK(at::equal(lazy.pair, eager.pair));
  CHECK(at::equal(lazy.predicted_aligned_error, eager.predicted_aligned_error));
}

TEST_CASE("AlphaFoldModel: an iteration is bitwise the same for 1, 2, 3 and 4 threads") {
  // The small model of case ptm_recycle on the whole example (76 residues, its MSA).
  const kfold::test::ModelCase c("ptm_recycle");
  const fold::AlphaFoldModel model(c.params->root(), c.config);
  const auto raw = ubiquitin_raw_features();
  const auto features = fold::make_model_inputs(raw, fold::input_pipeline_config(c.config), 0);
  const fold::RunOptions options;
  const int saved = at::get_num_threads();
  std::vector<fold::ModelOutputs> runs;
  for (const int threads : {1, 2, 3, 4}) {
    at::set_num_threads(threads);
    runs.push_back(model.iteration(features, 0, model.initial_state(features.n_res(), options), options));
  }
  at::set_num_threads(saved);
  for (size_t run = 1; run < runs.size(); ++run) {
    INFO("threads " << run + 1 << " vs 1");
    CHECK(at::equal(runs[run].msa_first_row, runs[0].msa_first_row));
    CHECK(at::equal(runs[run].pair, runs[0].pair));
    CHECK(at::equal(runs[run].single, runs[0].single));
    CHECK(at::equal(runs[run].structure.final_atom_positions, runs[0].structure.final_atom_positions));
    CHECK(at::equal(runs[run].plddt, runs[0].plddt));
  }
}

TEST_CASE("AlphaFoldModel: ensembling averages the members' trunk outputs (num_ensemble 2)") {
  // AlphaFold's eval ensembling (the CASP14 preset's num_ensemble 8) averages single, pair and the MSA's first
  // row over the members before the heads. The same model with num_ensemble 1 run on each member's batch gives
  // the two terms: their mean must be what the ensembled iteration hands the heads.
  kfold::test::ModelCase c("ptm_recycle");
  c.config.data.eval.num_ensemble = 2;
  const auto raw = ubiquitin_raw_features();
  const auto pipeline = fold::input_pipeline_config(c.config);
  REQUIRE(pipeline.num_ensemble == 2);
  const auto features = fold::make_model_inputs(raw, pipeline, 7);  // batch 0, 1: iteration 0's two members
  const fold::RunOptions options;
  const fold::AlphaFoldModel ensembled(c.params->root(), c.config);
  const auto both = ensembled.iteration(features, 0, ensembled.initial_state(features.n_res(), options), options);
  c.config.data.eval.num_ensemble = 1;
  const fold::AlphaFoldModel single(c.params->root(), c.config);
  const auto state = single.initial_state(features.n_res(), options);
  const auto first = single.iteration(features, 0, state, options);
  const auto second = single.iteration(features, 1, state, options);
  REQUIRE_FALSE(at::equal(first.pair, second.pair));  // the members differ (their MSA samples and masks)
  // (a + b) / 2 in float32, as the ensembled run sums and divides: equal to rounding.
  CHECK(at::allclose(both.single, (first.single + second.single) / 2.0, 1e-6, 1e-6));
  CHECK(at::allclose(both.pair, (first.pair + second.pair) / 2.0, 1e-6, 1e-6));
  CHECK(at::allclose(both.msa_first_row, (first.msa_first_row + second.msa_first_row) / 2.0, 1e-6, 1e-6));
}

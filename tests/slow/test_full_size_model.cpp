// The full-size preset model_1_ptm (48 Evoformer blocks, 4 extra-MSA blocks, c_m 256, c_z 128)
// with random weights of the real shapes runs one recycling iteration (num_recycle 0) at L = 64 on
// the CPU: every parameter the preset declares is built at its AlphaFold shape, and the outputs have
// the right shapes and are finite. Labelled slow (tests/slow/): minutes on two busy cores.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "fold/weights.hpp"

namespace fold = kfold::fold;

TEST_CASE("Full-size model_1_ptm with random weights runs one iteration at L 64") {
  auto config = fold::model_config("model_1_ptm");
  config.model.embeddings_and_evoformer.template_.enabled = false;  // no template features here
  config.model.embeddings_and_evoformer.template_.embed_torsion_angles = false;
  config.model.num_recycle = 0;
  config.data.common.num_recycle = 0;

  // A 64-residue query with a 40-row MSA of point mutants (deterministic).
  const std::string letters = "ACDEFGHIKLMNPQRSTVWY";
  kfold::data::Sequence query{"synthetic", "", ""};
  for (int64_t i = 0; i < 64; ++i) query.residues += letters[(i * 7 + 3) % 20];
  kfold::data::Msa msa;
  for (int64_t r = 0; r < 40; ++r) {
    auto row = query.residues;
    for (int64_t k = 0; k < 6; ++k) row[(r * 11 + k * 13) % 64] = letters[(r + k * 5) % 20];
    msa.sequences.push_back(r == 0 ? query.residues : row);
    msa.deletion_matrix.emplace_back(64, 0);
    msa.descriptions.push_back("row" + std::to_string(r));
  }
  const auto raw = fold::make_raw_features(query, {msa}, {"synthetic.a3m"});
  const auto features = fold::make_model_inputs(raw, fold::input_pipeline_config(config), 0);

  auto store = fold::ParameterStore::random(0);
  const fold::AlphaFoldModel model(store->root(), config);
  // The preset builds exactly AlphaFold's parameter set without templates: 4 extra-MSA blocks, 48
  // Evoformer blocks, the structure module and five heads (~93 M values with the template stack).
  const int64_t values = store->used_value_count();
  MESSAGE("parameters: " << store->keys().size() << " arrays, " << values << " values");
  CHECK(values > 80'000'000);

  fold::RunOptions options;
  options.chunk_size = 32;
  const auto out = model.predict(features, options);
  CHECK(out.num_iterations == 1);
  CHECK(out.structure.final_atom_positions.sizes() == at::IntArrayRef{64, 37, 3});
  CHECK(out.pair.sizes() == at::IntArrayRef{64, 64, 128});
  CHECK(out.single.sizes() == at::IntArrayRef{64, 384});
  CHECK(out.predicted_aligned_error.sizes() == at::IntArrayRef{64, 64});
  CHECK(at::isfinite(out.structure.final_atom_positions).all().item<bool>());
  CHECK(at::isfinite(out.pair).all().item<bool>());
  CHECK(((out.plddt >= 0) & (out.plddt <= 100)).all().item<bool>());
  CHECK(out.ptm > 0.0);
  CHECK(out.ptm < 1.0);
}

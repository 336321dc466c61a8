// Test helpers for the model's parity tests: load a module fixture (tests/fixtures/fold/<name>.npz,
// made by scripts/make_fixture_fold_modules.py) and compare tensors with a stated tolerance.
#pragma once

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "data/npz_file.hpp"
#include "fold/config.hpp"
#include "fold/embeddings_and_evoformer.hpp"
#include "fold/weights.hpp"
#include "test_support.hpp"

namespace kfold::test {

// One reference fixture: parameters (AlphaFold keys) in `params`, inputs and outputs by name.
struct ModuleFixture {
  std::shared_ptr<const data::NpzFile> npz;
  std::unique_ptr<fold::ParameterStore> params;

  explicit ModuleFixture(const std::string& name)
      : npz(std::make_shared<const data::NpzFile>(source_dir() / "tests/fixtures/fold" / (name + ".npz"))),
        params(std::make_unique<fold::ParameterStore>(npz)) {}

  at::Tensor array(const std::string& key) const {
    const auto& info = npz->get(key);
    const auto values = npz->read<float>(key);
    return at::tensor(at::ArrayRef<float>(values)).reshape(info.shape);
  }
  at::Tensor input(const std::string& name) const { return array("input/" + name); }
  at::Tensor int_input(const std::string& name) const {
    const auto& info = npz->get("input/" + name);
    const auto values = npz->read<int64_t>("input/" + name);
    return at::tensor(at::ArrayRef<int64_t>(values)).reshape(info.shape);
  }
  at::Tensor output(const std::string& name = "out") const { return array("output/" + name); }
};

// The trunk's inputs stored in a fixture under AlphaFold's batch names (input/<name>), without templates.
inline fold::EvoformerInputs trunk_inputs(const ModuleFixture& f) {
  fold::EvoformerInputs batch;
  batch.target_feat = f.input("target_feat");
  batch.msa_feat = f.input("msa_feat");
  batch.seq_mask = f.input("seq_mask");
  batch.msa_mask = f.input("msa_mask");
  batch.aatype = f.int_input("aatype");
  batch.residue_index = f.int_input("residue_index");
  batch.extra_msa = f.int_input("extra_msa");
  batch.extra_has_deletion = f.input("extra_has_deletion");
  batch.extra_deletion_value = f.input("extra_deletion_value");
  batch.extra_msa_mask = f.input("extra_msa_mask");
  batch.prev_pos = f.input("prev_pos");
  batch.prev_msa_first_row = f.input("prev_msa_first_row");
  batch.prev_pair = f.input("prev_pair");
  return batch;
}

// |actual - expected| <= atol + rtol * |expected| everywhere, on expected's device (actual may be on
// another one, e.g. CUDA outputs against CPU references); reports the max abs error.
inline double check_close(const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol,
                          const std::string& what) {
  REQUIRE(actual.sizes() == expected.sizes());
  const auto diff = (actual.to(expected.device()) - expected).abs();
  const double max_abs = diff.max().item<double>();
  const bool ok = (diff <= atol + rtol * expected.abs()).all().item<bool>();
  MESSAGE(what << ": max abs error " << max_abs << " (|expected| max " << expected.abs().max().item<double>() << ")");
  CHECK_MESSAGE(ok, what << ": outside atol " << atol << " + rtol " << rtol);
  return max_abs;
}

// The fixtures' small model (scripts/make_fixture_fold_modules.py): `preset` with these overrides,
// applied through the JSON override path that users have.
inline fold::ModelConfig small_model_config(const std::string& preset) {
  auto config = fold::model_config(preset);
  fold::apply_config_json(config, R"({"model": {"embeddings_and_evoformer": {
      "msa_channel": 16, "pair_channel": 8, "extra_msa_channel": 12, "seq_channel": 20,
      "evoformer_num_block": 2, "extra_msa_stack_num_block": 1,
      "evoformer": {"msa_row_attention_with_pair_bias": {"num_head": 4}, "msa_column_attention": {"num_head": 4},
        "outer_product_mean": {"num_outer_channel": 4},
        "triangle_attention_starting_node": {"num_head": 2}, "triangle_attention_ending_node": {"num_head": 2},
        "triangle_multiplication_outgoing": {"num_intermediate_channel": 6},
        "triangle_multiplication_incoming": {"num_intermediate_channel": 6}}}}})",
                          "small model");
  return config;
}

}  // namespace kfold::test

// Parity of the Evoformer modules with the AlphaFold reference (haiku, alphafold.model.modules):
// fixtures from scripts/make_fixture_fold_modules.py hold random (perturbed) parameters under
// AlphaFold's params_model_*.npz names, the inputs (masks with zeros) and the reference outputs.
//
// Tolerance: fp32 on both sides, |kfold - reference| <= 1e-4 + 1e-4 |reference| per element. The two
// differ only in summation order (XLA vs oneDNN/MKL GEMMs, LayerNorm reductions): ~1e-6 relative per
// op, grown by the LayerNorms and residual sums of a block to ~1e-5 at most; a wrong mask, bias, scale
// or gate moves outputs by 1e-2 or more.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "fold/attention.hpp"
#include "fold/config.hpp"
#include "fold/evoformer_iteration.hpp"
#include "fold/msa_column_attention.hpp"
#include "fold/msa_column_global_attention.hpp"
#include "fold/msa_row_attention_with_pair_bias.hpp"
#include "fold/outer_product_mean.hpp"
#include "fold/transition.hpp"
#include "fold/triangle_attention.hpp"
#include "fold/triangle_multiplication.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
using kfold::test::ModuleFixture;
namespace fold = kfold::fold;

namespace {

constexpr double kAtol = 1e-4, kRtol = 1e-4;
constexpr int64_t c_m = 16, c_z = 8, c_e = 12;
const std::string kEvo = "alphafold/alphafold_iteration/evoformer";

// The fixtures' small model: model_1 with the script's overrides, through the JSON override path.
const fold::EmbeddingsAndEvoformerConfig& small_config() {
  static const fold::ModelConfig config = kfold::test::small_model_config("model_1");
  return config.model.embeddings_and_evoformer;
}

fold::ParameterScope block_scope(ModuleFixture& f) { return f.params->scope(kEvo + "/evoformer_iteration"); }

fold::RunOptions chunked(int64_t chunk) {
  fold::RunOptions o;
  o.chunk_size = chunk;
  return o;
}

// The default options run attention through the fused kfold::attention_pair_bias op; this runs the
// plain libtorch path, so every attention module is checked against the reference both ways.
fold::RunOptions reference_kernel() {
  fold::RunOptions o;
  o.attention_kernel = fold::AttentionKernel::reference;
  return o;
}

}  // namespace

TEST_CASE("Attention matches the reference (gated, mask bias and shared bias)") {
  ModuleFixture f("attention");
  const auto& cfg = small_config().evoformer.msa_row_attention_with_pair_bias;
  fold::Attention attention(block_scope(f) / "msa_row_attention_with_pair_bias" / "attention", cfg, c_m, c_m, c_m);
  CHECK(f.params->unused_keys().empty());
  const auto q = f.input("q_data"), mask = f.input("mask"), bias = f.input("nonbatched_bias");
  check_close(attention.forward(q, q, mask, bias, {}), f.output(), kAtol, kRtol, "Attention");
  check_close(attention.forward(q, q, mask, bias, chunked(2)), f.output(), kAtol, kRtol, "Attention chunk 2");
  check_close(attention.forward(q, q, mask, bias, reference_kernel()), f.output(), kAtol, kRtol,
              "Attention reference kernel");
}

TEST_CASE("MSARowAttentionWithPairBias matches the reference") {
  ModuleFixture f("msa_row_attention_with_pair_bias");
  fold::MSARowAttentionWithPairBias module(block_scope(f) / "msa_row_attention_with_pair_bias",
                                           small_config().evoformer.msa_row_attention_with_pair_bias, c_m, c_z);
  CHECK(f.params->unused_keys().empty());
  const auto out = module.forward(f.input("msa_act"), f.input("msa_mask"), f.input("pair_act"), {});
  check_close(out, f.output(), kAtol, kRtol, "MSARowAttentionWithPairBias");
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), f.input("pair_act"), chunked(3)), f.output(),
              kAtol, kRtol, "MSARowAttentionWithPairBias chunk 3");
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), f.input("pair_act"), reference_kernel()),
              f.output(), kAtol, kRtol, "MSARowAttentionWithPairBias reference kernel");
}

TEST_CASE("MSAColumnAttention matches the reference") {
  ModuleFixture f("msa_column_attention");
  fold::MSAColumnAttention module(block_scope(f) / "msa_column_attention",
                                  small_config().evoformer.msa_column_attention, c_m);
  CHECK(f.params->unused_keys().empty());
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), {}), f.output(), kAtol, kRtol,
              "MSAColumnAttention");
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), chunked(4)), f.output(), kAtol, kRtol,
              "MSAColumnAttention chunk 4");
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), reference_kernel()), f.output(), kAtol, kRtol,
              "MSAColumnAttention reference kernel");
}

TEST_CASE("MSAColumnGlobalAttention (GlobalAttention) matches the reference") {
  ModuleFixture f("msa_column_global_attention");
  fold::MSAColumnGlobalAttention module(f.params->scope(kEvo + "/extra_msa_stack/msa_column_global_attention"),
                                        small_config().evoformer.msa_column_attention, c_e);
  CHECK(f.params->unused_keys().empty());
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), {}), f.output(), kAtol, kRtol,
              "MSAColumnGlobalAttention");
  // --chunk-size reaches it (it ignored it: the extra MSA's largest unchunked transient at 5120 rows).
  check_close(module.forward(f.input("msa_act"), f.input("msa_mask"), chunked(3)), f.output(), kAtol, kRtol,
              "MSAColumnGlobalAttention chunk 3");
}

TEST_CASE("Transition (MSA and pair) matches the reference") {
  for (const std::string name : {"msa_transition", "pair_transition"}) {
    CAPTURE(name);
    ModuleFixture f(name);
    const auto& cfg =
        name == "msa_transition" ? small_config().evoformer.msa_transition : small_config().evoformer.pair_transition;
    fold::Transition module(block_scope(f) / name, cfg, name == "msa_transition" ? c_m : c_z);
    CHECK(f.params->unused_keys().empty());
    check_close(module.forward(f.input("act"), {}), f.output(), kAtol, kRtol, name);
    check_close(module.forward(f.input("act"), chunked(2)), f.output(), kAtol, kRtol, name + " chunk 2");
  }
}

TEST_CASE("OuterProductMean matches the reference") {
  ModuleFixture f("outer_product_mean");
  fold::OuterProductMean module(block_scope(f) / "outer_product_mean", small_config().evoformer.outer_product_mean, c_m,
                                c_z);
  CHECK(f.params->unused_keys().empty());
  check_close(module.forward(f.input("act"), f.input("mask"), {}), f.output(), kAtol, kRtol, "OuterProductMean");
  check_close(module.forward(f.input("act"), f.input("mask"), chunked(4)), f.output(), kAtol, kRtol,
              "OuterProductMean chunk 4");
}

TEST_CASE("TriangleMultiplication outgoing / incoming (DeepMind's unfused weights) match the reference") {
  for (const std::string name : {"triangle_multiplication_outgoing", "triangle_multiplication_incoming"}) {
    CAPTURE(name);
    ModuleFixture f(name);
    const auto& cfg = name.ends_with("outgoing") ? small_config().evoformer.triangle_multiplication_outgoing
                                                 : small_config().evoformer.triangle_multiplication_incoming;
    fold::TriangleMultiplication module(block_scope(f) / name, cfg, c_z);
    CHECK(f.params->unused_keys().empty());
    check_close(module.forward(f.input("act"), f.input("mask"), {}), f.output(), kAtol, kRtol, name);
    // Chunked: channel groups of a quarter (the fixture has 6 intermediate channels: groups of 1), 3 rows at a time.
    check_close(module.forward(f.input("act"), f.input("mask"), chunked(3)), f.output(), kAtol, kRtol,
                name + " chunk 3");
  }
}

TEST_CASE("TriangleMultiplication with fused projection weights matches the reference") {
  ModuleFixture f("triangle_multiplication_outgoing_fused");
  auto cfg = small_config().evoformer.triangle_multiplication_outgoing;
  cfg.fuse_projection_weights = true;
  fold::TriangleMultiplication module(block_scope(f) / "triangle_multiplication_outgoing", cfg, c_z);
  CHECK(f.params->unused_keys().empty());
  check_close(module.forward(f.input("act"), f.input("mask"), {}), f.output(), kAtol, kRtol,
              "TriangleMultiplication fused");
  check_close(module.forward(f.input("act"), f.input("mask"), chunked(3)), f.output(), kAtol, kRtol,
              "TriangleMultiplication fused, chunk 3");
}

TEST_CASE("TriangleAttention starting / ending node matches the reference") {
  for (const std::string name : {"triangle_attention_starting_node", "triangle_attention_ending_node"}) {
    CAPTURE(name);
    ModuleFixture f(name);
    const auto& cfg = name.ends_with("starting_node") ? small_config().evoformer.triangle_attention_starting_node
                                                      : small_config().evoformer.triangle_attention_ending_node;
    fold::TriangleAttention module(block_scope(f) / name, cfg, c_z);
    CHECK(f.params->unused_keys().empty());
    check_close(module.forward(f.input("pair_act"), f.input("pair_mask"), {}), f.output(), kAtol, kRtol, name);
    check_close(module.forward(f.input("pair_act"), f.input("pair_mask"), chunked(3)), f.output(), kAtol, kRtol,
                name + " chunk 3");
    check_close(module.forward(f.input("pair_act"), f.input("pair_mask"), reference_kernel()), f.output(), kAtol, kRtol,
                name + " reference kernel");
  }
}

TEST_CASE("EvoformerIteration: two stacked blocks match the reference's layer stack") {
  ModuleFixture f("evoformer_iteration");
  const auto& cfg = small_config();
  const auto scope = f.params->scope(kEvo + "/evoformer_iteration");
  std::vector<fold::EvoformerIteration> blocks;
  for (int64_t i = 0; i < cfg.evoformer_num_block; ++i)
    blocks.emplace_back(scope.layer(i, cfg.evoformer_num_block), cfg.evoformer, c_m, c_z, false);
  CHECK(f.params->unused_keys().empty());
  fold::EvoformerActivations act{f.input("msa_act"), f.input("pair_act")};
  for (const auto& block : blocks) act = block.forward(act, f.input("msa_mask"), f.input("pair_mask"), {});
  check_close(act.msa, f.output("msa"), kAtol, kRtol, "EvoformerIteration x2 msa");
  check_close(act.pair, f.output("pair"), kAtol, kRtol, "EvoformerIteration x2 pair");
}

TEST_CASE("EvoformerIteration (extra-MSA stack block, global column attention) matches the reference") {
  ModuleFixture f("extra_msa_stack");
  const auto& cfg = small_config();
  fold::EvoformerIteration block(f.params->scope(kEvo + "/extra_msa_stack").layer(0, cfg.extra_msa_stack_num_block),
                                 cfg.evoformer, c_e, c_z, true);
  CHECK(f.params->unused_keys().empty());
  const auto act =
      block.forward({f.input("msa_act"), f.input("pair_act")}, f.input("msa_mask"), f.input("pair_mask"), chunked(3));
  check_close(act.msa, f.output("msa"), kAtol, kRtol, "extra MSA block msa");
  check_close(act.pair, f.output("pair"), kAtol, kRtol, "extra MSA block pair");
}

TEST_CASE("Building a module checks its weights once: a wrong channel count names the key and both shapes") {
  ModuleFixture f("evoformer_iteration");
  const auto& cfg = small_config();
  const auto scope = f.params->scope(kEvo + "/evoformer_iteration").layer(0, 2);
  CHECK_THROWS_WITH_AS(fold::EvoformerIteration(scope, cfg.evoformer, c_m, 2 * c_z, false),
                       doctest::Contains("evoformer_iteration/outer_product_mean//output_w' has shape [2, 4, 4, 8], "
                                         "expected [2, 4, 4, 16]"),
                       kfold::InputError);
  auto three_heads = cfg.evoformer;
  three_heads.triangle_attention_starting_node.num_head = 3;
  CHECK_THROWS_WITH_AS(fold::EvoformerIteration(scope, three_heads, c_m, c_z, false),
                       doctest::Contains("triangle_attention_starting_node//feat_2d_weights' has shape [2, 8, 2], "
                                         "expected [2, 8, 3]"),
                       kfold::InputError);
  three_heads = cfg.evoformer;
  three_heads.msa_column_attention.num_head = 3;  // 16 channels do not split into 3 heads
  CHECK_THROWS_WITH_AS(fold::EvoformerIteration(scope, three_heads, c_m, c_z, false),
                       doctest::Contains("msa_column_attention/attention': 16 channels do not split into 3 heads"),
                       kfold::InputError);
}

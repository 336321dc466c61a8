// Parity of the template embedding (fold/template_embedding.hpp: Suppl. Alg. 2 lines 7-13, Alg. 16, 17)
// with the AlphaFold reference, alone and inside the trunk (model_1: template pair embedding plus the
// torsion-angle rows appended to the MSA). Fixtures: scripts/make_fixture_template_embedding.py (11
// residues, 3 templates: one complete with a glycine, one partly masked with gap residues, one padding).
// Tolerance as the other trunk tests: fp32, atol 1e-4 + rtol 1e-4 (outputs are O(1); the measured errors
// are printed). Also: missing template arrays are named errors, and processed features carry the arrays.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "fold/embeddings_and_evoformer.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/template_embedding.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
namespace fold = kfold::fold;

namespace {

const std::string kEvoformer = "alphafold/alphafold_iteration/evoformer";

// The fixtures' small model_1 (make_fixture_template_embedding.py): the trunk tests' small config with
// small template sizes (c_t 6) and one Evoformer block.
fold::ModelConfig small_template_config() {
  auto config = kfold::test::small_model_config("model_1");
  fold::apply_config_json(config, R"({"model": {"embeddings_and_evoformer": {"evoformer_num_block": 1,
      "template": {"subbatch_size": 16, "attention": {"num_head": 2, "key_dim": 4, "value_dim": 6},
        "template_pair_stack": {
          "triangle_attention_starting_node": {"num_head": 2, "key_dim": 4, "value_dim": 6},
          "triangle_attention_ending_node": {"num_head": 2, "key_dim": 4, "value_dim": 6},
          "triangle_multiplication_outgoing": {"num_intermediate_channel": 5},
          "triangle_multiplication_incoming": {"num_intermediate_channel": 5}}}}}})",
                          "small template model");
  return config;
}

fold::TemplateBatch fixture_templates(const kfold::test::ModuleFixture& f) {
  return {f.int_input("template_aatype"), f.input("template_all_atom_positions"), f.input("template_all_atom_masks"),
          f.input("template_mask"),       f.input("template_pseudo_beta"),        f.input("template_pseudo_beta_mask")};
}

fold::EvoformerInputs fixture_batch(const kfold::test::ModuleFixture& f, bool with_templates) {
  auto batch = kfold::test::trunk_inputs(f);
  if (with_templates) {
    const auto t = fixture_templates(f);
    batch.template_aatype = t.aatype;
    batch.template_all_atom_positions = t.all_atom_positions;
    batch.template_all_atom_masks = t.all_atom_masks;
    batch.template_mask = t.template_mask;
    batch.template_pseudo_beta = t.pseudo_beta;
    batch.template_pseudo_beta_mask = t.pseudo_beta_mask;
  }
  return batch;
}

}  // namespace

TEST_CASE("TemplateEmbedding matches the reference (3 templates, partly masked, padding, unit vectors)") {
  kfold::test::ModuleFixture f("template_embedding");
  auto config = small_template_config().model.embeddings_and_evoformer.template_;
  config.use_template_unit_vector = true;  // the fixture's setting (the presets have it off)
  const fold::TemplateEmbedding embedding(f.params->scope(kEvoformer + "/template_embedding"), config, 8);
  CHECK(f.params->unused_keys().empty());

  const auto templates = fixture_templates(f);
  const auto query = f.input("query_embedding"), mask_2d = f.input("mask_2d");  // [11, 11, 8], [11, 11]
  // The input pipeline's pseudo-beta (CB, CA for glycine) is a selection: exact.
  const auto beta = fold::pseudo_beta(templates.aatype, templates.all_atom_positions, templates.all_atom_masks);
  check_close(beta.positions, templates.pseudo_beta, 0, 0, "pseudo_beta");
  check_close(beta.mask, templates.pseudo_beta_mask, 0, 0, "pseudo_beta_mask");

  for (int64_t chunk : {0, 3}) {
    CAPTURE(chunk);
    fold::RunOptions options;
    options.chunk_size = chunk;
    check_close(embedding.forward(query, templates, mask_2d, options), f.output(), 1e-4, 1e-4, "template embedding");
  }
  // Without the pseudo-beta arrays they are computed from the atoms; the padding template's contents do
  // not matter (its attention weight is 0).
  auto derived = templates;
  derived.pseudo_beta = at::Tensor();
  derived.pseudo_beta_mask = at::Tensor();
  derived.all_atom_positions = derived.all_atom_positions.clone();
  derived.all_atom_positions[2].normal_();
  derived.all_atom_masks = derived.all_atom_masks.clone();
  derived.all_atom_masks[2].fill_(1);
  check_close(embedding.forward(query, derived, mask_2d, {}), f.output(), 1e-4, 1e-4, "derived pseudo-beta");

  // One template: the pointwise attention has one key and one query per pair, so with equal key and value
  // head sizes (AlphaFold's 16 and 16) it takes the fused kernel's path; it agrees with the reference
  // attention (random weights of that shape).
  auto one = templates;
  one.template_mask = at::tensor({1.0F, 0.0F, 0.0F});
  auto equal_heads = config;
  equal_heads.attention.key_dim = 6;
  equal_heads.attention.value_dim = 6;
  const auto random = fold::ParameterStore::random(3);
  const fold::TemplateEmbedding random_embedding(random->scope(kEvoformer + "/template_embedding"), equal_heads, 8);
  fold::RunOptions reference;
  reference.attention_kernel = fold::AttentionKernel::reference;
  check_close(random_embedding.forward(query, one, mask_2d, {}),
              random_embedding.forward(query, one, mask_2d, reference), 1e-5, 1e-5,
              "one template: fused vs reference attention");

  // No template present: AlphaFold zeroes the embedding.
  auto none = templates;
  none.template_mask = at::zeros_like(templates.template_mask);
  CHECK(embedding.forward(query, none, mask_2d, {}).eq(0).all().item<bool>());
}

TEST_CASE("EmbeddingsAndEvoformer with templates matches the reference (model_1: pair embedding, torsion rows)") {
  kfold::test::ModuleFixture f("embeddings_and_evoformer_templates");
  const auto config = small_template_config();
  const auto& trunk_config = config.model.embeddings_and_evoformer;
  REQUIRE(trunk_config.template_.enabled);
  REQUIRE(trunk_config.template_.embed_torsion_angles);
  REQUIRE_FALSE(trunk_config.template_.use_template_unit_vector);
  fold::EmbeddingsAndEvoformer trunk(f.params->scope(kEvoformer), trunk_config);
  CHECK(f.params->unused_keys().empty());

  const auto batch = fixture_batch(f, true);
  for (int64_t chunk : {0, 4}) {
    CAPTURE(chunk);
    fold::RunOptions options;
    options.chunk_size = chunk;
    const auto out = trunk.forward(batch, options);
    check_close(out.single, f.output("single"), 1e-4, 1e-4, "single");
    check_close(out.pair, f.output("pair"), 1e-4, 1e-4, "pair");
    check_close(out.msa, f.output("msa"), 1e-4, 1e-4, "msa (template rows cropped)");
    check_close(out.msa_first_row, f.output("msa_first_row"), 1e-4, 1e-4, "msa_first_row");
  }

  // Templates enabled but the batch has none, or a malformed one: errors that name the array.
  CHECK_THROWS_WITH_AS(trunk.forward(fixture_batch(f, false), {}), doctest::Contains("no 'template_aatype'"),
                       kfold::InputError);
  auto no_mask = batch;
  no_mask.template_mask = at::Tensor();
  CHECK_THROWS_WITH_AS(trunk.forward(no_mask, {}), doctest::Contains("no 'template_mask'"), kfold::InputError);
  auto short_masks = batch;
  short_masks.template_all_atom_masks = batch.template_all_atom_masks.narrow(1, 0, 10);
  CHECK_THROWS_WITH_AS(trunk.forward(short_masks, {}), doctest::Contains("'template_all_atom_masks' has shape"),
                       kfold::InputError);
}

TEST_CASE("processed features carry the template arrays through HDF5, and must have all of them") {
  kfold::test::ScratchDir dir("template_features_io");
  auto features =
      fold::read_processed_features(kfold::test::source_dir() / "tests/fixtures/input_pipeline/small_seed7.npz");
  const int64_t n_batch = features.n_batch(), n_res = features.n_res(), n_templ = 4;
  CHECK_FALSE(features.template_aatype.defined());  // kfold's pipeline makes none
  at::manual_seed(7);
  features.template_aatype = at::randint(0, 22, {n_batch, n_templ, n_res}, at::kInt);
  features.template_all_atom_positions = at::randn({n_batch, n_templ, n_res, 37, 3});
  features.template_all_atom_masks = at::randint(0, 2, {n_batch, n_templ, n_res, 37}).to(at::kFloat);
  features.template_mask = at::tensor({1.0F, 1.0F, 0.0F, 0.0F}).expand({n_batch, n_templ}).contiguous();
  features.template_pseudo_beta = at::randn({n_batch, n_templ, n_res, 3});
  features.template_pseudo_beta_mask = at::randint(0, 2, {n_batch, n_templ, n_res}).to(at::kFloat);
  features.template_sum_probs = at::rand({n_batch, n_templ, 1});
  fold::write_processed_features(dir / "templates.h5", features);
  auto back = fold::read_processed_features(dir / "templates.h5");
  for (const char* name : {"template_aatype", "template_all_atom_positions", "template_all_atom_masks", "template_mask",
                           "template_pseudo_beta", "template_pseudo_beta_mask", "template_sum_probs"}) {
    CAPTURE(name);
    const auto& expected = *features.field(name);
    const auto* actual = back.field(name);
    REQUIRE(actual->defined());
    CHECK(at::equal(*actual, expected));
  }

  auto missing = features;
  missing.template_mask = at::Tensor();
  fold::write_processed_features(dir / "missing.h5", missing);
  CHECK_THROWS_WITH_AS(fold::read_processed_features(dir / "missing.h5"), doctest::Contains("lack 'template_mask'"),
                       kfold::InputError);
  auto uneven = features;
  uneven.template_mask = features.template_mask.narrow(1, 0, 3).contiguous();
  fold::write_processed_features(dir / "uneven.h5", uneven);
  CHECK_THROWS_WITH_AS(fold::read_processed_features(dir / "uneven.h5"), doctest::Contains("n_templ is 3 here but 4"),
                       kfold::InputError);
}

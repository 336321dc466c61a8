// Parity of the trunk (input embedder, relative positions, recycling embedder, extra-MSA stack,
// Evoformer stack, single projection) with the AlphaFold reference's EmbeddingsAndEvoformer, at a
// small config (2 Evoformer blocks, 1 extra-MSA block, n_seq 5, n_extra 7, n_res 11 with a padded
// residue and a chain break in residue_index). Fixture: scripts/make_fixture_fold_modules.py. With
// templates: test_template_embedding.cpp.
// Tolerance as the module tests (fp32, atol 1e-4 + rtol 1e-4): see test_evoformer_modules.cpp.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "fold/common_modules.hpp"
#include "fold/config.hpp"
#include "fold/embeddings_and_evoformer.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
namespace fold = kfold::fold;

TEST_CASE("EmbeddingsAndEvoformer matches the reference (2 blocks, extra-MSA stack, recycled inputs)") {
  kfold::test::ModuleFixture f("embeddings_and_evoformer");
  const auto config = kfold::test::small_model_config("model_3");  // no templates
  fold::EmbeddingsAndEvoformer trunk(f.params->scope("alphafold/alphafold_iteration/evoformer"),
                                     config.model.embeddings_and_evoformer);
  CHECK(f.params->unused_keys().empty());

  const auto batch = kfold::test::trunk_inputs(f);

  for (int64_t chunk : {0, 4}) {
    CAPTURE(chunk);
    fold::RunOptions options;
    options.chunk_size = chunk;
    const auto out = trunk.forward(batch, options);
    check_close(out.single, f.output("single"), 1e-4, 1e-4, "single");
    check_close(out.pair, f.output("pair"), 1e-4, 1e-4, "pair");
    check_close(out.msa, f.output("msa"), 1e-4, 1e-4, "msa");
    check_close(out.msa_first_row, f.output("msa_first_row"), 1e-4, 1e-4, "msa_first_row");
  }

  // With template.enabled (model_1's config; random weights of its shapes) the batch must carry the
  // template arrays (parity with templates: test_template_embedding.cpp).
  const auto with_templates = kfold::test::small_model_config("model_1").model.embeddings_and_evoformer;
  REQUIRE(with_templates.template_.enabled);
  const auto random = fold::ParameterStore::random(1);
  const fold::EmbeddingsAndEvoformer templated(random->scope("alphafold/alphafold_iteration/evoformer"),
                                               with_templates);
  CHECK_THROWS_WITH_AS(templated.forward(batch, {}), doctest::Contains("has no 'template_aatype'"), kfold::InputError);
}

TEST_CASE("Linear::forward_one_hot gives the product with the one-hot (relative positions without the one-hot)") {
  // The relative-position features were a [n_res, n_res, 2r+1] one-hot (int64, then float): 97 GB at L = 76 with
  // max_relative_feature 2^20, which the config accepts; the rows are gathered instead.
  const auto random = fold::ParameterStore::random(7);
  const fold::Linear linear(random->scope("relpos"), 65, 16);
  const auto classes = at::randint(0, 65, {11, 11}, at::TensorOptions().dtype(at::kLong));
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    CAPTURE(dtype);
    const auto expected = linear.forward(at::one_hot(classes, 65).to(dtype));  // [11, 11, 16]
    const auto gathered = linear.forward_one_hot(classes, dtype);
    REQUIRE(gathered.sizes() == expected.sizes());
    CHECK((gathered.scalar_type() == dtype));
    if (dtype == at::kFloat)
      CHECK(at::equal(gathered, expected));  // one exact product term plus the bias: the same rounding
    else
      check_close(gathered.to(at::kFloat), expected.to(at::kFloat), 1e-2, 1e-2, "bfloat16");
  }
}

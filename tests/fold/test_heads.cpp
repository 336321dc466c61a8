// Parity of the distogram, masked-MSA and experimentally-resolved heads with the AlphaFold reference
// (fixture tests/fixtures/fold/heads.npz from scripts/make_fixture_fold_modules.py; tolerance as in
// test_evoformer_modules.cpp: fp32, atol 1e-4 + rtol 1e-4).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "fold/config.hpp"
#include "fold/distogram_head.hpp"
#include "fold/experimentally_resolved_head.hpp"
#include "fold/masked_msa_head.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
namespace fold = kfold::fold;

TEST_CASE("Distogram, masked MSA and experimentally resolved heads match the reference") {
  kfold::test::ModuleFixture f("heads");
  const auto config = fold::model_config("model_1_ptm").model.heads;
  const auto scope = f.params->scope("alphafold/alphafold_iteration");
  const fold::DistogramHead distogram(scope / "distogram_head", config.distogram, 8);
  const fold::MaskedMsaHead masked_msa(scope / "masked_msa_head", config.masked_msa, 16);
  const fold::ExperimentallyResolvedHead resolved(scope / "experimentally_resolved_head",
                                                  config.experimentally_resolved, 20);
  CHECK(f.params->unused_keys().empty());

  const auto d = distogram.forward(f.input("pair"));
  check_close(d.logits, f.output("distogram_logits"), 1e-4, 1e-4, "distogram logits");
  check_close(d.bin_edges, f.output("distogram_bin_edges"), 1e-6, 1e-6, "distogram bin edges");
  CHECK(at::equal(d.logits, d.logits.transpose(0, 1)));  // symmetric by construction
  check_close(masked_msa.forward(f.input("msa")), f.output("masked_msa_logits"), 1e-4, 1e-4, "masked MSA logits");
  check_close(resolved.forward(f.input("single")), f.output("experimentally_resolved_logits"), 1e-4, 1e-4,
              "experimentally resolved logits");
}

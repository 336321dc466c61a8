// Parity of the confidence heads (pLDDT, PAE) and the confidence metrics (pLDDT, PAE, pTM, ipTM) with
// the AlphaFold reference (fixture tests/fixtures/fold/confidence.npz from scripts/make_fixture_confidence.py).
// Tolerances, far below the whole-model acceptance numbers (pLDDT 1e-3, PAE 1e-3 Å, pTM 1e-4): head logits
// fp32 atol 1e-5 + rtol 1e-5; pLDDT 1e-4; PAE 1e-4 Å; probabilities 1e-6; pTM 1e-6 + rtol 1e-5.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "data/error.hpp"
#include "fold/confidence.hpp"
#include "fold/config.hpp"
#include "fold/predicted_aligned_error_head.hpp"
#include "fold/predicted_lddt_head.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
namespace fold = kfold::fold;

namespace {

// |actual - expected| <= atol + rtol * |expected| for a scalar score.
void check_score(double actual, const at::Tensor& expected_tensor, double atol, double rtol, const char* what) {
  const double expected = expected_tensor.item<double>();
  MESSAGE(std::string(what) << ": " << actual << " vs reference " << expected << ", abs error "
                            << std::abs(actual - expected));
  CHECK_MESSAGE(std::abs(actual - expected) <= atol + rtol * std::abs(expected), std::string(what));
}

}  // namespace

TEST_CASE("pLDDT and PAE heads match the reference") {
  kfold::test::ModuleFixture f("confidence");
  auto config = fold::model_config("model_1_ptm").model.heads;
  config.predicted_lddt.num_channels = 16;  // the fixture's small head
  const auto scope = f.params->scope("alphafold/alphafold_iteration");
  const fold::PredictedLddtHead lddt_head(scope / "predicted_lddt_head", config.predicted_lddt, 12);
  const fold::PredictedAlignedErrorHead pae_head(scope / "predicted_aligned_error_head", config.predicted_aligned_error,
                                                 8);
  CHECK(f.params->unused_keys().empty());

  const auto lddt_logits = lddt_head.forward(f.input("structure_module"));  // [11, 50]
  check_close(lddt_logits, f.output("lddt_logits"), 1e-5, 1e-5, "pLDDT head logits");
  const auto pae = pae_head.forward(f.input("pair"));  // [11, 11, 64]
  check_close(pae.logits, f.output("pae_logits"), 1e-5, 1e-5, "PAE head logits");
  check_close(pae.breaks, f.output("pae_breaks"), 1e-6, 0.0, "PAE breaks");

  // Heads and metrics together, as a prediction computes them.
  check_close(fold::compute_plddt(lddt_logits), f.output("plddt"), 1e-4, 0.0, "pLDDT from kfold's logits");
  const auto metrics = fold::compute_predicted_aligned_error(pae.logits, pae.breaks);
  check_close(metrics.predicted_aligned_error, f.output("predicted_aligned_error"), 1e-4, 0.0,
              "PAE from kfold's logits");
  check_score(fold::predicted_tm_score(pae.logits, pae.breaks), f.output("ptm"), 1e-6, 1e-5, "pTM from kfold's logits");
}

TEST_CASE("pLDDT PAE and pTM match the reference on the same logits") {
  kfold::test::ModuleFixture f("confidence");
  const auto lddt_logits = f.output("lddt_logits");  // [11, 50]
  const auto logits = f.output("pae_logits");        // [11, 11, 64]
  const auto breaks = f.output("pae_breaks");        // [63]
  const auto weights = f.input("residue_weights");   // [11], two zeros
  const auto asym_id = f.int_input("asym_id");       // [11], two chains

  const auto plddt = fold::compute_plddt(lddt_logits);
  check_close(plddt, f.output("plddt"), 1e-4, 0.0, "pLDDT");
  CHECK(plddt.min().item<double>() >= 0.0);
  CHECK(plddt.max().item<double>() <= 100.0);

  const auto pae = fold::compute_predicted_aligned_error(logits, breaks);
  check_close(pae.aligned_confidence_probs, f.output("aligned_confidence_probs"), 1e-6, 0.0,
              "aligned confidence probs");
  check_close(pae.predicted_aligned_error, f.output("predicted_aligned_error"), 1e-4, 0.0, "PAE");
  CHECK(pae.max_predicted_aligned_error == doctest::Approx(f.output("max_predicted_aligned_error").item<double>()));
  CHECK(pae.max_predicted_aligned_error == 31.75);  // 31 + half a bin + the catch-all bin

  check_score(fold::predicted_tm_score(logits, breaks), f.output("ptm"), 1e-6, 1e-5, "pTM");
  check_score(fold::predicted_tm_score(logits, breaks, weights), f.output("ptm_masked"), 1e-6, 1e-5,
              "pTM with residue weights");
  check_score(fold::predicted_tm_score(logits, breaks, weights, asym_id, /*interface=*/true), f.output("iptm"), 1e-6,
              1e-5, "ipTM");
  // Without interface=true the chain ids are ignored (DeepMind's signature).
  CHECK(fold::predicted_tm_score(logits, breaks, weights, asym_id) ==
        doctest::Approx(fold::predicted_tm_score(logits, breaks, weights)).epsilon(1e-12));
}

TEST_CASE("pTM above the 19-residue clip and other bin counts match the reference") {
  kfold::test::ModuleFixture f("confidence");
  const auto logits = f.input("large_logits");  // [30, 30, 16]
  const auto breaks = f.input("large_breaks");  // [15]
  check_score(fold::predicted_tm_score(logits, breaks), f.output("large_ptm"), 1e-6, 1e-5, "pTM, 30 residues");
  check_close(fold::compute_predicted_aligned_error(logits, breaks).predicted_aligned_error,
              f.output("large_predicted_aligned_error"), 1e-4, 0.0, "PAE, 16 bins");
  check_close(fold::compute_plddt(f.input("large_lddt_logits")), f.output("large_plddt"), 1e-4, 0.0,
              "pLDDT, sharper logits");
}

TEST_CASE("Confidence metrics in limiting cases and with bad shapes") {
  // All mass in the first bin: pLDDT is that bin's centre, PAE half a step, pTM 1 / (1 + (0.25 / d0)^2).
  const int64_t n_res = 40;
  auto lddt_logits = at::full({n_res, 50}, -1e4f);
  lddt_logits.select(1, 0).fill_(0.0f);
  check_close(fold::compute_plddt(lddt_logits), at::full({n_res}, 1.0f), 1e-5, 0.0, "pLDDT of a one-hot first bin");
  auto logits = at::full({n_res, n_res, 64}, -1e4f);
  logits.select(2, 0).fill_(0.0f);
  const auto breaks = at::linspace(0.0, 31.0, 63, at::kFloat);
  check_close(fold::compute_predicted_aligned_error(logits, breaks).predicted_aligned_error,
              at::full({n_res, n_res}, 0.25f), 1e-6, 0.0, "PAE of a one-hot first bin");
  const double d0 = 1.24 * std::cbrt(40.0 - 15.0) - 1.8;
  CHECK(fold::predicted_tm_score(logits, breaks) == doctest::Approx(1.0 / (1.0 + 0.0625 / (d0 * d0))).epsilon(1e-6));

  CHECK_THROWS_AS(fold::compute_predicted_aligned_error(logits, at::linspace(0.0, 31.0, 62, at::kFloat)),
                  kfold::InputError);
  CHECK_THROWS_AS(fold::predicted_tm_score(logits, breaks, at::ones({n_res - 1})), kfold::RuntimeError);
  CHECK_THROWS_AS(fold::predicted_tm_score(logits, breaks, {}, {}, /*interface=*/true), kfold::RuntimeError);
  CHECK_THROWS_AS(fold::compute_plddt(logits), kfold::RuntimeError);
}

TEST_CASE("pTM anchor choice and d0 with fractional residue weights") {
  const auto breaks = at::linspace(0.0, 31.0, 63, at::kFloat);
  // Residue 1's row puts all mass in the first bin (centre 0.25 A), residues 0 and 2 theirs in the second (0.75 A).
  // Residue 1 is the best anchor (~0.31 against ~0.048), but weighted by 0.1 it loses (0.031): the anchor is the
  // argmax of the per-anchor score times its weight, and the score returned is the unweighted one.
  auto logits = at::full({3, 3, 64}, -1e4f);
  logits.select(2, 1).fill_(0.0f);
  logits[1].select(1, 1).fill_(-1e4f);
  logits[1].select(1, 0).fill_(0.0f);
  const double d0_small = 1.24 * std::cbrt(19.0 - 15.0) - 1.8;  // 3 residues: clipped at 19
  const double first_bin = 1.0 / (1.0 + 0.0625 / (d0_small * d0_small));
  const double second_bin = 1.0 / (1.0 + 0.5625 / (d0_small * d0_small));
  CHECK(fold::predicted_tm_score(logits, breaks, at::tensor({1.0, 1.0, 1.0})) ==
        doctest::Approx(first_bin).epsilon(1e-5));
  CHECK(fold::predicted_tm_score(logits, breaks, at::tensor({1.0, 0.1, 1.0})) ==
        doctest::Approx(second_bin).epsilon(1e-5));

  // The weighted residue count is truncated (AlphaFold's int()): 20.7 counts as 20 residues, not 21.
  auto flat = at::full({21, 21, 64}, -1e4f);
  flat.select(2, 0).fill_(0.0f);
  auto weights = at::ones({21}, at::kDouble);
  weights[20] = 0.7;
  const double d0 = 1.24 * std::cbrt(20.0 - 15.0) - 1.8;
  CHECK(fold::predicted_tm_score(flat, breaks, weights) ==
        doctest::Approx(1.0 / (1.0 + 0.0625 / (d0 * d0))).epsilon(1e-6));
}

TEST_CASE("Confidence metrics refuse non-square PAE logits and a single break") {
  const auto breaks = at::linspace(0.0, 31.0, 63, at::kFloat);
  const auto logits = at::zeros({4, 5, 64});
  CHECK_THROWS_AS(fold::compute_predicted_aligned_error(logits, breaks), kfold::InputError);
  CHECK_THROWS_AS(fold::predicted_tm_score(logits, breaks), kfold::InputError);
  // One edge gives no step: an input error, not an index error from breaks[1].
  CHECK_THROWS_AS(fold::aligned_error_bin_centers(at::tensor({1.0f})), kfold::InputError);
  CHECK_THROWS_AS(fold::aligned_error_bin_centers(at::zeros({2, 3})), kfold::InputError);
}
